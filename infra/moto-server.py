"""moto's server for infra/test-infra.sh, with the Lambda pieces of
CloudFormation that moto 5.2 does not model filled in.

Run with the venv's Python: `python infra/moto-server.py -H 127.0.0.1 -p PORT`.

moto creates AWS::Lambda::Function from a template but drops Architectures,
TracingConfig and Layers (its Lambda model has them), cannot GetAtt a
Version's number, has no AWS::Lambda::Alias at all (the template's
permission for Connect is on the alias, so without it the stack fails), and
leaves a stack made by a change set (`aws cloudformation deploy`) without
Outputs; it keeps `!Ref AWS::NoValue` in a list as a null where
CloudFormation drops the item; and it skips AWS::IAM::RolePolicy (the
template's optional role policies). This adds exactly that, through moto's own Lambda backend, so deploy.sh runs
unchanged against it. Still not modelled, and so not read back by the test:
LoggingConfig, provisioned concurrency, and whether CloudFormation would
replace a Version. (Stock moto deploys the template too, without the alias,
its permission for Connect and the role policies.)
"""

import json
import sys

import moto.cloudformation.parsing as cfn_parsing
from moto.awslambda.models import LambdaFunction, LambdaVersion, lambda_backends
from moto.cloudformation.models import ChangeSet
from moto.core.common_models import CloudFormationModel
from moto.utilities.utils import get_partition
from moto.iam.models import iam_backends
from moto.server import main

# Properties moto's Lambda model keeps but its CloudFormation parser drops.
_EXTRA_FUNCTION_PROPERTIES = ("Architectures", "TracingConfig", "Layers")


def _apply_extras(fn, properties):
    if "Architectures" in properties:
        fn.architectures = properties["Architectures"]
    if "TracingConfig" in properties:
        fn.tracing_config = properties["TracingConfig"]
    if "Layers" in properties:
        fn.layers = fn._get_layers_data(properties["Layers"])
    return fn


_create_function = LambdaFunction.create_from_cloudformation_json.__func__
_update_function = LambdaFunction.update_from_cloudformation_json.__func__


def _create_function_with_extras(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    fn = _create_function(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    return _apply_extras(fn, cloudformation_json["Properties"])


def _update_function_with_extras(
    cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
):
    fn = _update_function(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )
    return _apply_extras(fn, cloudformation_json["Properties"])


LambdaFunction.create_from_cloudformation_json = classmethod(_create_function_with_extras)
LambdaFunction.update_from_cloudformation_json = classmethod(_update_function_with_extras)


def _version_attribute(self, attribute_name):
    if attribute_name == "Version":
        return str(self.version)
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    raise UnformattedGetAttTemplateException()


LambdaVersion.has_cfn_attr = classmethod(lambda cls, attr: attr == "Version")
LambdaVersion.get_cfn_attribute = _version_attribute


class LambdaAliasResource(CloudFormationModel):
    """AWS::Lambda::Alias on moto's Lambda backend (create, update, delete)."""

    # moto's model registry reads the service from the module's dotted name.
    __module__ = "moto.awslambda.cfn_alias"

    def __init__(self, alias, function_name, account_id, region_name):
        self.alias = alias
        self.function_name = function_name
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_type():
        return "AWS::Lambda::Alias"

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @property
    def physical_resource_id(self):
        return self.alias.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        backend = lambda_backends[account_id][region_name]
        alias = backend.create_alias(
            name=p["Name"],
            function_name=p["FunctionName"],
            function_version=str(p["FunctionVersion"]),
            description=p.get("Description", ""),
            routing_config=None,
        )
        return cls(alias, p["FunctionName"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        p = cloudformation_json["Properties"]
        backend = lambda_backends[account_id][region_name]
        alias = backend.update_alias(
            name=p["Name"],
            function_name=p["FunctionName"],
            function_version=str(p["FunctionVersion"]),
            description=p.get("Description", ""),
            routing_config=None,
        )
        return cls(alias, p["FunctionName"], account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        p = cloudformation_json["Properties"]
        lambda_backends[account_id][region_name].delete_alias(p["Name"], p["FunctionName"])


_clean_json = cfn_parsing.clean_json


def _clean_json_without_novalue_items(resource_json, resources_map):
    out = _clean_json(resource_json, resources_map)
    if isinstance(resource_json, list) and isinstance(out, list):
        return [item for item in out if item is not None]
    return out


# clean_json recurses through this module attribute, so lists at any depth.
cfn_parsing.clean_json = _clean_json_without_novalue_items

class RolePolicyResource(CloudFormationModel):
    """AWS::IAM::RolePolicy: an inline policy on moto's IAM role."""

    __module__ = "moto.iam.cfn_role_policy"

    def __init__(self, role_name, policy_name):
        self.role_name = role_name
        self.policy_name = policy_name

    @staticmethod
    def cloudformation_type():
        return "AWS::IAM::RolePolicy"

    @staticmethod
    def cloudformation_name_type():
        return "PolicyName"

    @property
    def physical_resource_id(self):
        return f"{self.role_name}-{self.policy_name}"

    @staticmethod
    def _iam(account_id, region_name):
        return iam_backends[account_id][get_partition(region_name)]

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        cls._iam(account_id, region_name).put_role_policy(
            p["RoleName"], p["PolicyName"], json.dumps(p["PolicyDocument"])
        )
        return cls(p["RoleName"], p["PolicyName"])

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        p = cloudformation_json["Properties"]
        cls._iam(account_id, region_name).delete_role_policy(p["RoleName"], p["PolicyName"])


_apply_change_set = ChangeSet.apply


def _apply_change_set_and_outputs(self):
    _apply_change_set(self)
    # As Stack.update does: the outputs of the template just applied (a
    # stack made by a change set starts with an empty template).
    self.stack.template_dict = self.template_dict
    self.stack.output_map = self.stack._create_output_map()


ChangeSet.apply = _apply_change_set_and_outputs


if __name__ == "__main__":
    main(sys.argv[1:])
