"""The Application Load Balancer in front of a regional (aws-ec2) stack's instances.

Clients reach one stable name over HTTPS (an ACM certificate, TLS 1.2+ policy) on each gateway's
port; the load balancer forwards over HTTPS to the gateways on the instances (which serve TLS with
the stack's certificate secret), health-checks their /healthz, and the auto scaling group
registers its instances with it. The instances then admit the load balancer alone: clients never
reach them directly.

Wavelength stacks keep their instances on carrier IPs: AWS's Network Load Balancer is not offered
in Wavelength Zones and the Application Load Balancer was still being rolled out zone by zone
(https://aws.amazon.com/blogs/compute/enabling-load-balancing-of-non-https-traffic-on-aws-wavelength/),
so a stack that assumed one would fail in some zones; that post's DNS-based balancing is the advice.
"""

from __future__ import annotations

SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3 and 1.2 only
# The one check the load balancer is waived from, with the reason a reviewer can check.
ACCESS_LOG_WAIVER = {
    "id": "CKV_AWS_91",
    "comment": "access logs need a log bucket with an ELB delivery policy, "
    "which the account owns; set access_logs.s3 to yours",
}


def resources(ports: list[tuple[int, str]], tags: list[dict]) -> dict:
    """ports: (port, health path) per endpoint. Resources named LoadBalancer*, TargetGroup<i>, Listener<i>."""
    low, high = min(p for p, _ in ports), max(p for p, _ in ports)
    out: dict = {
        "SecondSubnet": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {  # an ALB spans two Availability Zones
                "VpcId": {"Ref": "Vpc"},
                "CidrBlock": {"Fn::Select": [1, {"Fn::Cidr": [{"Ref": "VpcCidr"}, 4, 8]}]},
                "AvailabilityZone": {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
                "Tags": tags,
            },
        },
        "SecondSubnetRouteTableAssociation": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": {"Ref": "SecondSubnet"}, "RouteTableId": {"Ref": "RouteTable"}},
        },
        "LoadBalancerSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "the load balancer: clients in ClientCidr, on the endpoint ports",
                "VpcId": {"Ref": "Vpc"},
                "SecurityGroupIngress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": low,
                        "ToPort": high,
                        "CidrIp": {"Ref": "ClientCidr"},
                        "Description": "model clients",
                    }
                ],
                "Tags": tags,
            },
        },
        "LoadBalancerToInstances": {
            "Type": "AWS::EC2::SecurityGroupEgress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]},
                "IpProtocol": "tcp",
                "FromPort": low,
                "ToPort": high,
                "DestinationSecurityGroupId": {"Fn::GetAtt": ["SecurityGroup", "GroupId"]},
                "Description": "to the gateways on the instances",
            },
        },
        "InstancesFromLoadBalancer": {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": ["SecurityGroup", "GroupId"]},
                "IpProtocol": "tcp",
                "FromPort": low,
                "ToPort": high,
                "SourceSecurityGroupId": {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]},
                "Description": "the load balancer only",
            },
        },
        "LoadBalancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Metadata": {"checkov": {"skip": [ACCESS_LOG_WAIVER]}},
            "Properties": {
                "Type": "application",
                "Scheme": "internet-facing",
                "Subnets": [{"Ref": "Subnet"}, {"Ref": "SecondSubnet"}],
                "SecurityGroups": [{"Ref": "LoadBalancerSecurityGroup"}],
                "LoadBalancerAttributes": [{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}],
                "Tags": tags,
            },
        },
    }
    for i, (port, health) in enumerate(ports):
        out[f"TargetGroup{i}"] = {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "TargetType": "instance",
                "Protocol": "HTTPS",
                "Port": port,
                "HealthCheckProtocol": "HTTPS",
                "HealthCheckPath": health,
                "Matcher": {"HttpCode": "200"},
                "Tags": tags,
            },
        }
        out[f"Listener{i}"] = {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": {"Ref": "LoadBalancer"},
                "Protocol": "HTTPS",
                "Port": port,
                "SslPolicy": SSL_POLICY,
                "Certificates": [{"CertificateArn": {"Ref": "LoadBalancerCertificateArn"}}],
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": f"TargetGroup{i}"}}],
            },
        }
    return out


PARAMETER = {
    "LoadBalancerCertificateArn": {
        "Type": "String",
        "AllowedPattern": r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/.+$",
        "Description": "ACM certificate of the name clients call the load balancer by (HTTPS only)",
    }
}
