"""edgespec.shorten.cut: the one place a long user string is cut for a message."""

from edgespec.shorten import cut


def test_a_string_that_fits_is_kept_and_a_long_one_cut_to_the_width():
    assert cut("a" * 40, 40) == "a" * 40
    assert cut("a" * 41, 40) == "a" * 37 + "..."
    assert len(cut("x" * 1_000_000, 60)) == 60
