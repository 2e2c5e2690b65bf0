"""Creates the stack's stateful resources on the local emulators from
template.yaml itself, so local runs use the same definitions as AWS:

  - RosterTable on DynamoDB Local: key schema, attribute definitions, global
    secondary indexes and TTL, exactly as the template declares them;
  - InboundBucket on moto: with the template's versioning setting.

Usage (from the repository root, with the venv of infra/check-template.sh,
which has cfn-lint's template decoder and boto3):

  .tools/venv/bin/python infra/local/resources.py \
      --dynamodb http://127.0.0.1:8000 --moto http://127.0.0.1:8766 \
      --table roster-local --bucket roster-local-inbound

Idempotent: existing resources are left as they are. Prints JSON with the
names created.
"""

import argparse
import json
import sys

import boto3
from cfnlint.decode import decode


def resource(template, name, kind):
    res = template.get("Resources", {}).get(name)
    if not res or res.get("Type") != kind:
        sys.exit(f"template.yaml has no {kind} named {name}")
    return res.get("Properties", {})


def plain(value):
    """The template's values without cfn-lint's node wrappers."""
    return json.loads(json.dumps(value))


def table_request(props, table):
    request = {
        "TableName": table,
        "AttributeDefinitions": plain(props["AttributeDefinitions"]),
        "KeySchema": plain(props["KeySchema"]),
        "BillingMode": plain(props.get("BillingMode", "PAY_PER_REQUEST")),
    }
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = plain(props["GlobalSecondaryIndexes"])
    return request


def create_table(client, props, table):
    existing = client.list_tables().get("TableNames", [])
    created = table not in existing
    if created:
        client.create_table(**table_request(props, table))
        client.get_waiter("table_exists").wait(TableName=table)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and plain(ttl).get("Enabled"):
        try:
            client.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"AttributeName": plain(ttl)["AttributeName"], "Enabled": True},
            )
        except client.exceptions.ClientError as e:  # already enabled
            if "already enabled" not in str(e).lower():
                raise
    return created


def create_bucket(client, props, bucket):
    names = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
    created = bucket not in names
    if created:
        client.create_bucket(Bucket=bucket)
    status = plain(props.get("VersioningConfiguration", {})).get("Status")
    if status:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
    return created


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--dynamodb", required=True, help="DynamoDB Local endpoint")
    parser.add_argument("--moto", required=True, help="moto endpoint (S3)")
    parser.add_argument("--table", required=True)
    parser.add_argument("--bucket", required=True)
    args = parser.parse_args()

    template, matches = decode(args.template)
    if template is None:
        sys.exit(f"cannot read {args.template}: {matches}")
    common = dict(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    ddb = boto3.client("dynamodb", endpoint_url=args.dynamodb, **common)
    s3 = boto3.client("s3", endpoint_url=args.moto, **common)
    table_created = create_table(ddb, resource(template, "RosterTable", "AWS::DynamoDB::Table"), args.table)
    bucket_created = create_bucket(s3, resource(template, "InboundBucket", "AWS::S3::Bucket"), args.bucket)
    print(json.dumps({
        "table": args.table,
        "table_created": table_created,
        "bucket": args.bucket,
        "bucket_created": bucket_created,
    }))


if __name__ == "__main__":
    main()
