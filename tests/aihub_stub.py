"""Runs a bundle's aihub.py against a stand-in for Qualcomm AI Hub's REST layer, as qai-hub's own
tests do (qai_hub/test/test_client.py patches `qai_hub.client.api`): the real qai-hub client builds
and checks every request, so a wrong argument fails here as it would against AI Hub. Run under
.venv-qnn's Python:

    python aihub_stub.py BUNDLE LOG [aihub.py arguments...]

The stand-in has hosted devices of one chipset only (qualcomm-qcs6490-proxy: the first chipset the
bundle asks for has none, so its fallback is exercised), compiles to a file of known bytes and
profiles at 4321 us. LOG receives every call, as JSON, for the test to read."""

import importlib.util
import json
import sys
from unittest import mock

import qai_hub.public_api_pb2 as api_pb

BUNDLE, LOG, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]
HOSTED = "chipset:qualcomm-qcs6490-proxy"
ATTRIBUTES = [HOSTED, "os:linux", "framework:qnn", "framework:tflite", "framework:onnx"]  # as AI Hub lists it
calls = []
jobs = {}


def log(name, **fields):
    calls.append({"call": name, **fields})


def get_device_list(config, name="", os="", attributes=None, select=False):
    log("get_device_list", attributes=list(attributes or []))
    found = api_pb.DeviceList()
    if HOSTED in (attributes or []):
        found.devices.append(api_pb.Device(name="RB3 Gen 2 (Proxy)", os="12", attributes=ATTRIBUTES))
        found.total_query_count = 1
    return found


def create_and_upload_model(config, path, *args, **kwargs):
    log("create_and_upload_model", path=str(path).rsplit("/", 1)[-1])
    return api_pb.CreateUpdateResponse(id="source-model")


def create_compile_job(config, job_pb, *args, **kwargs):
    devices = [job_pb.device, *job_pb.devices.devices]
    log(
        "create_compile_job",
        options=job_pb.options,
        devices=[d.name for d in devices if d.name],
        attributes=sorted({a for d in devices for a in d.attributes}),
        model=job_pb.model.model_id,
        input_specs={
            s.name: [list(s.tensor_type.shape), api_pb.TensorDtype.Name(s.tensor_type.dtype)]
            for s in job_pb.tensor_type_list.types
        },
    )
    jobs["compile"] = job_pb
    return api_pb.CreateUpdateResponse(id="compile-job")


def create_and_upload_dataset(config, path, *args, **kwargs):
    log("create_and_upload_dataset")
    return api_pb.CreateUpdateResponse(id="calibration")


def create_quantize_job(config, job_pb, *args, **kwargs):
    log(
        "create_quantize_job",
        model=job_pb.model.model_id,
        weights=api_pb.QuantizeDtype.Name(job_pb.weights_dtype),
        activations=api_pb.QuantizeDtype.Name(job_pb.activations_dtype),
    )
    jobs["quantize"] = job_pb
    return api_pb.CreateUpdateResponse(id="quantize-job")


def create_inference_job(config, job_pb, *args, **kwargs):
    log(
        "create_inference_job", model=job_pb.model.model_id, device=job_pb.device.name, profiling=job_pb.is_profiling_on
    )
    return api_pb.CreateUpdateResponse(id="profile-job")


def get_job(config, job_id=None, *args, **kwargs):
    job_id = job_id or args[0]
    done = api_pb.JobState.JOB_STATE_DONE
    device = api_pb.Device(name="RB3 Gen 2 (Proxy)", os="12", attributes=ATTRIBUTES)
    if job_id == "quantize-job":  # the job as submitted, done, with its quantized model
        job = api_pb.QuantizeJob()
        job.CopyFrom(jobs["quantize"])
        job.quantize_job_id, job.job_state = job_id, done
        job.target_model.CopyFrom(api_pb.Model(model_id="quantized-model", model_type=api_pb.MODEL_TYPE_ONNX))
        return api_pb.Job(quantize_job=job)
    if job_id == "compile-job":
        return api_pb.Job(
            compile_job=api_pb.CompileJob(
                compile_job_id=job_id,
                job_state=done,
                device=device,
                model=api_pb.Model(model_id="source-model"),
                target_model=api_pb.Model(model_id="target-model", model_type=api_pb.MODEL_TYPE_QNN_CONTEXT_BINARY),
            )
        )
    return api_pb.Job(
        inference_job=api_pb.InferenceJob(
            inference_job_id=job_id,
            job_state=done,
            device=device,
            is_profiling_on=True,
            model=api_pb.Model(model_id="target-model", model_type=api_pb.MODEL_TYPE_QNN_CONTEXT_BINARY),
        )
    )


def get_job_results(config, job_id, *args, **kwargs):
    log("get_job_results", job=job_id)
    detail = api_pb.ProfileDetail(major_version=1, execution_time=4321)
    return api_pb.JobResult(inference_job_result=api_pb.InferenceJobResult(detail=detail))


def download_model(config, model_id, file_path=None, verbose=False, **kwargs):
    log("download_model", model=model_id, file=str(file_path).rsplit("/", 1)[-1])
    with open(file_path, "wb") as f:
        f.write(b"compiled by the stand-in")
    return file_path


def get_model(config, model_id, *args, **kwargs):
    return api_pb.Model(model_id=model_id, model_type=api_pb.MODEL_TYPE_QNN_CONTEXT_BINARY)


patches = {
    name: fn
    for name, fn in globals().items()
    if name
    in (
        "get_device_list",
        "create_and_upload_model",
        "create_compile_job",
        "create_inference_job",
        "get_job",
        "get_job_results",
        "download_model",
        "get_model",
        "create_and_upload_dataset",
        "create_quantize_job",
    )
}
spec = importlib.util.spec_from_file_location("aihub", f"{BUNDLE}/aihub.py")
aihub = importlib.util.module_from_spec(spec)
spec.loader.exec_module(aihub)
code = 0
with mock.patch.multiple("qai_hub.client.api", **{name: mock.DEFAULT for name in patches}) as mocks:
    for name, fn in patches.items():
        mocks[name].side_effect = fn
    try:
        aihub.main(ARGS)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
        print(stop.code, file=sys.stderr)
with open(LOG, "w") as f:
    json.dump(calls, f, indent=1)
sys.exit(code)
