#!/usr/bin/env bash
# Checks for the infrastructure: cfn-lint on the template, and deploy.sh run
# for real (dry-run, and a full run against a fake `aws` that only records its
# arguments). No AWS account, network or build is needed once cfn-lint is
# installed. One PASS/FAIL line per check; non-zero exit on any failure.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: infra/test-infra.sh [-h|--help]

Runs:
  * cfn-lint infra/cloudformation/template.yaml (from the venv of scripts/venv.sh)
  * consistency checks between template, parameters.json.example and SPEC names
  * infra/cloudformation/deploy.sh --dry-run, and a full run against a fake
    aws CLI: printed commands, secret masking, missing values, and the
    template's rules refused before any AWS call
  * deploy.sh for real against moto's server on 127.0.0.1 (infra/moto-server.py)
    with the AWS CLI from the venv: a create with every option, an update
    with a changed zip, a stack without options, read back through the CLI
    (SKIP_MOTO=1 skips this part)
EOF
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "test-infra.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
template=infra/cloudformation/template.yaml
deploy=infra/cloudformation/deploy.sh

# deploy.sh reads PSTN_* and AWS_* settings: start from none of them.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(PSTN_|AWS_REGION$|AWS_DEFAULT_REGION$|AWS_PROFILE$)' || true)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
problems=""

# Each check: expectations (expect_*) collect problems, then `verdict NAME`
# prints one PASS/FAIL line and starts the next check.
verdict() {
  if [ -z "$problems" ]; then
    echo "PASS $1"
  else
    echo "FAIL $1:$problems"
    failures=$((failures + 1))
  fi
  problems=""
}
problem() { problems+=" [$1]"; }
expect_has() { grep -qF -- "$1" <<<"$out" || problem "output lacks '$1'"; }
expect_lacks() { ! grep -qF -- "$1" <<<"$out" || problem "output contains '$1'"; }
expect_rc() { [ "$rc" -eq "$1" ] || problem "exit status $rc, expected $1; output: $(head -c 400 <<<"$out")"; }
expect_no_aws_call() { [ ! -s "$FAKE_AWS_LOG" ] || problem "aws was called: $(head -n1 "$FAKE_AWS_LOG")"; }
# A refused run: non-zero exit, the message, and no AWS call.
expect_refused() {
  [ "$rc" -ne 0 ] || problem "exit status 0"
  expect_has "$1"
  expect_no_aws_call
}

# A fake aws CLI that records each call, one line of arguments per call.
mkdir -p "$work/bin"
cat > "$work/bin/aws" <<'EOF'
#!/usr/bin/env bash
printf '%s\n' "$*" >> "$FAKE_AWS_LOG"
# A file:// argument: its mode and content, as the CLI would read them.
for arg in "$@"; do
  case "$arg" in
    file://*)
      f=${arg#file://}
      printf 'FILE %s %s %s\n' "$f" "$(stat -c %a "$f" 2>&1)" "$(stat -c %a "$(dirname "$f")" 2>&1)" >> "$FAKE_AWS_LOG"
      printf 'CONTENT %s\n' "$(cat "$f" 2>&1)" >> "$FAKE_AWS_LOG"
      ;;
  esac
done
EOF
chmod +x "$work/bin/aws"
export FAKE_AWS_LOG=$work/aws.log
: > "$FAKE_AWS_LOG"

# A dummy zip, so the full (non-dry-run) path needs no build.
printf 'not really a zip' > "$work/artifact.zip"
zip_sha16=$(sha256sum "$work/artifact.zip" | cut -c1-16)
version=$(tr -d '[:space:]' < VERSION)

readonly AGENT=customers/acme/profiles/support/virtualAgents/billing
readonly SECRET_VALUE='Sup3r-s3cret value'
readonly SECRET_ARN=arn:aws:secretsmanager:us-west-2:111122223333:secret:cresta/oauth-AbC123

# Runs deploy.sh non-interactively (stdin not a terminal, fake aws on PATH);
# sets out (stdout+stderr) and rc.
deploy_run() {
  : > "$FAKE_AWS_LOG"
  set +e
  out=$(PATH="$work/bin:$PATH" timeout 60 "$deploy" "$@" </dev/null 2>&1)
  rc=$?
  set -e
}

# --- cfn-lint ---------------------------------------------------------------
# cfn-lint from the test command's venv (scripts/venv.sh creates it once).
venv_bin=$("$repo_root/scripts/venv.sh") || { echo "test-infra.sh: error: scripts/venv.sh failed" >&2; exit 1; }
cfn_lint=("$venv_bin/cfn-lint")
set +e
out=$(timeout 120 "${cfn_lint[@]}" -- "$template" 2>&1)
rc=$?
set -e
expect_rc 0
[ -z "$out" ] || problem "$(head -c 2000 <<<"$out")"
verdict "cfn-lint $template: no errors, no warnings"

# --- consistency ------------------------------------------------------------
# The template's parameter names: two-space indented keys under Parameters:.
template_params=$(sed -n '/^Parameters:/,/^[A-Za-z]/p' "$template" | sed -n 's/^  \([A-Za-z0-9]*\):$/\1/p' | sort)
if example_params=$(python3 -c '
import json, sys
print("\n".join(sorted(p["ParameterKey"] for p in json.load(open(sys.argv[1])))))' \
  infra/cloudformation/parameters.json.example 2>&1); then
  unknown=$(comm -13 <(echo "$template_params") <(echo "$example_params") | tr '\n' ' ')
  [ -z "$unknown" ] || problem "not template parameters: $unknown"
else
  problem "not readable as create-stack parameter JSON: $example_params"
fi
verdict "parameters.json.example: valid JSON naming only template parameters"

out=$(cat "$template")
for name in region apiDomain authDomain virtualAgentName oauthClientId oauthClientSecret oauthSecretArn; do
  expect_has "          $name: "
done
verdict "template: environment variables named as in SPEC section 2"
expect_has "Runtime: provided.al2023"
expect_has "Handler: bootstrap"
expect_has "Timeout: 8"
expect_has "MemorySize: !If [OnManagedInstances, 2048, 128]"
verdict "template: provided.al2023, handler bootstrap, timeout 8 s, 128 MB (2048 on Managed Instances)"
expect_has "        - LambdaManagedInstancesCapacityProviderConfig:"
expect_has "            CapacityProviderArn: !Ref CapacityProviderArn"
expect_has "            PerExecutionEnvironmentMaxConcurrency: !Ref ManagedInstancesConcurrency"
expect_has "      - Assert: !Equals [!Ref ProvisionedConcurrency, \"0\"]"
verdict "template: Managed Instances through an optional capacity provider, without provisioned concurrency"
# Parameters marked NoEcho (awk remembers the two-space indented key above).
no_echo=$(awk '/^[A-Za-z]/ { section = $1 } section == "Parameters:" && /^  [A-Za-z0-9]+:$/ { p = $1 }
  section == "Parameters:" && /NoEcho: true/ { print p }' "$template" | tr '\n' ' ')
[ "$no_echo" = "OAuthClientId: OAuthClientSecret: HttpsProxy: " ] || problem "NoEcho parameters: $no_echo"
verdict "template: client id, client secret and proxy URL are NoEcho"
expect_has "kms:ViaService: !Sub"
# shellcheck disable=SC2016 # the template's own ${...}
expect_has 'secretsmanager.${SecretRegion}.${AWS::URLSuffix}'
verdict "template: kms:ViaService uses the partition's URL suffix"

# The example Connect flow: well formed, and wired as docs/connect-flow.md says.
if flow_problems=$(python3 - docs/connect-flow-example.json <<'PY' 2>&1
import json, sys
flow = json.load(open(sys.argv[1]))
errors = []
actions = {a["Identifier"]: a for a in flow.get("Actions", [])}
if flow.get("Version") != "2019-10-30":
    errors.append("Version is not 2019-10-30")
if flow.get("StartAction") not in actions:
    errors.append("StartAction does not name an action")
for name, a in actions.items():
    t = a.get("Transitions", {})
    targets = [t.get("NextAction")] + [x["NextAction"] for x in t.get("Errors", []) + t.get("Conditions", [])]
    errors += [f"{name}: unknown next action {x!r}" for x in targets if x is not None and x not in actions]
lambdas = [a for a in actions.values() if a["Type"] == "InvokeLambdaFunction"]
got = sorted(a["Parameters"].get("LambdaInvocationAttributes", {}).get("action", "") for a in lambdas)
if got != ["get_handoff_data", "get_pstn_transfer_data"]:
    errors.append(f"Lambda actions {got}")
for a in lambdas:
    p = a["Parameters"]
    if not 0 < int(p.get("InvocationTimeLimitSeconds", "0")) <= 8:
        errors.append(f"{a['Identifier']}: timeout not in 1..8")
    if p.get("ResponseValidation", {}).get("ResponseType") not in ("STRING_MAP", "JSON"):
        errors.append(f"{a['Identifier']}: no STRING_MAP/JSON response validation")
    if not a["Transitions"].get("Errors"):
        errors.append(f"{a['Identifier']}: no error branch")
ai = [a for a in actions.values() if a["Type"] == "TransferParticipantToThirdParty"
      and a["Parameters"].get("ThirdPartyPhoneNumber") == "$.External.phoneNumber"]
if not ai or ai[0]["Parameters"].get("ThirdPartyDTMFDigits") != "$.External.dtmfSequence" \
        or ai[0]["Parameters"].get("ContinueFlowExecution") != "True":
    errors.append("no transfer to $.External.phoneNumber with $.External.dtmfSequence that resumes the flow")
text = json.dumps(flow)
for key in ("handoff_transferTarget", "handoff_summary", "handoff_conversation", "handoff_conversationCorrelationId"):
    if f"$.External.{key}" not in text:
        errors.append(f"$.External.{key} not used")
print("; ".join(errors))
sys.exit(1 if errors else 0)
PY
); then :; else problem "$flow_problems"; fi
verdict "docs/connect-flow-example.json: valid flow, both actions, transfer with DTMF, handoff keys"

# What moto does not model, checked in the template itself.
out=$(cat "$template")
expect_has "        LogFormat: !Ref LogFormat"
expect_has "        ApplicationLogLevel: !If [HasLogLevel, !Ref ApplicationLogLevel, !Ref AWS::NoValue]"
expect_has "        - ProvisionedConcurrentExecutions: !Ref ProvisionedConcurrency"
# shellcheck disable=SC2016 # the template's own ${...}
expect_has '      Description: !Sub code ${CodeS3Key}'
verdict "template: LoggingConfig from LogFormat/ApplicationLogLevel, provisioned concurrency on the alias, a version per zip"

# --- deploy.sh --dry-run ----------------------------------------------------
deploy_run --help
expect_rc 0
expect_has "--dry-run"
verdict "deploy.sh --help"

common=(--stack-name pstn-test-stack --bucket my-artifacts-bucket --virtual-agent-name "$AGENT" --aws-region us-west-2)

deploy_run --dry-run "${common[@]}" --region us-west-2-prod --oauth-client-id my-client-id --oauth-client-secret "$SECRET_VALUE"
expect_rc 0
expect_has "[dry-run] $repo_root/scripts/build.sh arm64"
expect_no_aws_call
verdict "dry-run: exits 0, shows the build, calls no aws"
expect_has "aws --region us-west-2 s3 cp $repo_root/dist/connect-pstn-transfer-$version-arm64.zip"
expect_has "s3://my-artifacts-bucket/connect-pstn-transfer/connect-pstn-transfer-$version-arm64-"
verdict "dry-run: s3 cp of the expected zip"
expect_has "cloudformation deploy --template-file $repo_root/$template"
expect_has "--stack-name pstn-test-stack"
expect_has "--capabilities CAPABILITY_NAMED_IAM"
verdict "dry-run: cloudformation deploy with the stack name and CAPABILITY_NAMED_IAM"
expect_has "--parameter-overrides 'file://<file readable only by"
expect_has "[dry-run] with the parameters: VirtualAgentName=$AGENT CrestaRegion=us-west-2-prod"
expect_has "CodeS3Bucket=my-artifacts-bucket"
expect_has "Architecture=arm64"
expect_has "CodeS3Key=connect-pstn-transfer/connect-pstn-transfer-$version-arm64-"
verdict "dry-run: parameter overrides"
expect_has "OAuthClientSecret=****"
expect_has "OAuthClientId=****"
expect_lacks "Sup3r-s3cret"
expect_lacks "my-client-id"
verdict "dry-run: client secret (and id) masked as ****"

deploy_run --dry-run "${common[@]}" --arch x86_64 --region voice-prod --oauth-secret-arn "$SECRET_ARN" \
  --kms-key-arn arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab \
  --connect-instance-arn arn:aws:connect:us-west-2:111122223333:instance/11111111-2222-3333-4444-555555555555
expect_rc 0
expect_has "[dry-run] $repo_root/scripts/build.sh x86_64"
expect_has "Architecture=x86_64"
expect_has "OAuthSecretArn=$SECRET_ARN"
expect_has "OAuthSecretKmsKeyArn=arn:aws:kms:"
expect_has "ConnectInstanceArn=arn:aws:connect:"
verdict "dry-run: x86_64, secret ARN, KMS key and Connect instance passed through"

PSTN_STACK_NAME=env-stack PSTN_BUCKET=env-bucket PSTN_VIRTUAL_AGENT_NAME=$AGENT PSTN_REGION=us-west-2-prod \
  PSTN_OAUTH_SECRET_ARN=$SECRET_ARN deploy_run --dry-run --stack-name flag-stack
expect_rc 0
expect_has "--stack-name flag-stack"
expect_has "s3://env-bucket/"
expect_lacks "env-stack"
verdict "dry-run: PSTN_* environment variables are read; a flag wins over them"

deploy_run --dry-run --parameters-file infra/cloudformation/parameters.json.example --stack-name file-stack --function-name from-flag
expect_rc 0
expect_has "s3://my-lambda-artifacts-us-west-2/"
expect_has "FunctionName=from-flag"
expect_has "VirtualAgentName=customers/acme/profiles/support/virtualAgents/billing-agent"
verdict "dry-run: --parameters-file is read; a flag wins over it"

deploy_run --dry-run "${common[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN"
expect_rc 0
expect_has "AliasName=live ProvisionedConcurrency=0 ReservedConcurrency= LogFormat=Text ApplicationLogLevel= XRayTracing=false"
expect_has " CapacityProviderArn= ManagedInstancesConcurrency=16 "
expect_has "SubnetIds= SecurityGroupIds= HttpsProxy= NoProxy= CaBundlePath= CaBundleLayerArn="
verdict "dry-run: audited-environment options default to off (alias live, Text logs, no VPC, proxy, CA, tracing)"

readonly LAYER_ARN=arn:aws:lambda:us-west-2:111122223333:layer:company-ca:2
# shellcheck disable=SC2054 # comma lists are the values
audited=(--subnet-ids subnet-0a1,subnet-0b2 --security-group-ids sg-0c3 --https-proxy http://proxy.internal:3128
  --no-proxy .amazonaws.com,169.254.169.254 --ca-bundle-path /opt/certs/company-ca.pem --ca-bundle-layer-arn "$LAYER_ARN"
  --log-format JSON --log-level WARN --xray-tracing true --alias prod --provisioned-concurrency 3 --reserved-concurrency 10)
deploy_run --dry-run "${common[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" "${audited[@]}"
expect_rc 0
for kv in SubnetIds=subnet-0a1,subnet-0b2 SecurityGroupIds=sg-0c3 HttpsProxy=http://proxy.internal:3128 \
  NoProxy=.amazonaws.com,169.254.169.254 CaBundlePath=/opt/certs/company-ca.pem CaBundleLayerArn=$LAYER_ARN \
  LogFormat=JSON ApplicationLogLevel=WARN XRayTracing=true AliasName=prod ProvisionedConcurrency=3 ReservedConcurrency=10; do
  expect_has " $kv "
done
verdict "dry-run: every audited-environment option reaches its template parameter"

PSTN_SUBNET_IDS=subnet-9 PSTN_SECURITY_GROUP_IDS=sg-9 PSTN_LOG_FORMAT=JSON PSTN_XRAY_TRACING=true \
  deploy_run --dry-run "${common[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN"
expect_rc 0
expect_has " SubnetIds=subnet-9 SecurityGroupIds=sg-9 "
expect_has " LogFormat=JSON "
expect_has " XRayTracing=true "
verdict "dry-run: audited-environment options from PSTN_* variables"

# --- missing values, non-interactive ----------------------------------------
deploy_run --dry-run --stack-name s --virtual-agent-name "$AGENT" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN"
expect_refused "missing S3 bucket for the Lambda zip: pass --bucket or set PSTN_BUCKET"
verdict "missing --bucket without a terminal: clear error"
deploy_run --dry-run --bucket b-bucket --virtual-agent-name "$AGENT" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN"
expect_refused "pass --stack-name or set PSTN_STACK_NAME"
verdict "missing --stack-name without a terminal: clear error"
deploy_run --dry-run "${common[@]}" --region us-west-2-prod
expect_refused "missing credentials: pass --oauth-secret-arn"
verdict "missing credentials without a terminal: clear error"

# --- the template's rules, refused before any AWS call ----------------------
# Run without --dry-run and with a ready zip: anything that slipped through
# would reach the fake aws and be caught by expect_no_aws_call.
real=(--zip "$work/artifact.zip" "${common[@]}")
deploy_run "${real[@]}" --api-domain api-acme.cresta.com --oauth-secret-arn "$SECRET_ARN"
expect_refused "apiDomain and authDomain must be provided together"
verdict "rule: apiDomain with OAuth but no authDomain refused"
deploy_run "${real[@]}" --region us-west-2-prod --auth-domain auth.us-west-2-prod.cresta.ai --oauth-secret-arn "$SECRET_ARN"
expect_refused "apiDomain and authDomain must be provided together"
verdict "rule: authDomain without apiDomain refused"
deploy_run "${real[@]}" --oauth-secret-arn "$SECRET_ARN"
expect_refused "region is required"
verdict "rule: region or apiDomain required"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-client-id only-the-id
expect_refused "credentials incomplete"
verdict "rule: client id without client secret refused"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-client-id i --oauth-client-secret s \
  --kms-key-arn arn:aws:kms:us-west-2:111122223333:key/abcd
expect_refused "--kms-key-arn is only used together with --oauth-secret-arn"
verdict "rule: KMS key without secret ARN refused"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn arn:aws:secretsmanager:us-west-2:111122223333:secret:cresta
expect_refused "full Secrets Manager ARN"
verdict "secret ARN without its 6-character suffix refused"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" --virtual-agent-name customers/a/virtualAgents/b
expect_refused "virtual agent name"
verdict "malformed virtual agent name refused"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" --arch riscv
expect_refused "--arch must be arm64 or x86_64"
verdict "unknown architecture refused"

deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" --subnet-ids subnet-1
expect_refused "--subnet-ids and --security-group-ids must be given together"
verdict "rule: subnets without security groups refused"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" --security-group-ids sg-1
expect_refused "--subnet-ids and --security-group-ids must be given together"
verdict "rule: security groups without subnets refused"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" --log-level DEBUG
expect_refused "--log-level needs --log-format JSON"
verdict "rule: application log level without JSON logs refused"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" --ca-bundle-layer-arn "$LAYER_ARN"
expect_refused "--ca-bundle-layer-arn needs --ca-bundle-path"
verdict "rule: CA layer without the bundle's path refused"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" --provisioned-concurrency 5 --reserved-concurrency 2
expect_refused "must be at least --provisioned-concurrency"
verdict "rule: reserved concurrency below provisioned refused"
for bad in "--https-proxy ftp://proxy:21" "--ca-bundle-path certs/ca.pem" "--alias 123" "--provisioned-concurrency -1" \
  "--log-format XML" "--xray-tracing yes" "--subnet-ids subnet-1;rm" "--ca-bundle-layer-arn arn:aws:lambda:us-west-2:111122223333:layer:ca"; do
  # shellcheck disable=SC2086 # flag and value
  deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" $bad
  [ "$rc" -ne 0 ] || problem "'$bad' accepted"
  expect_no_aws_call
done
verdict "malformed proxy, CA path, alias, concurrency, log format, tracing, subnet and layer values refused"

readonly CAPACITY_PROVIDER=arn:aws:lambda:us-west-2:111122223333:capacity-provider:contact-centre
deploy_run --dry-run "${common[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" \
  --capacity-provider-arn "$CAPACITY_PROVIDER" --max-concurrency 64
expect_rc 0
expect_has " CapacityProviderArn=$CAPACITY_PROVIDER ManagedInstancesConcurrency=64 "
verdict "dry-run: --capacity-provider-arn and --max-concurrency reach their template parameters"
deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" \
  --capacity-provider-arn "$CAPACITY_PROVIDER" --provisioned-concurrency 2
expect_refused "--provisioned-concurrency does not apply on Managed Instances"
verdict "rule: provisioned concurrency on Managed Instances refused"
for bad in "--capacity-provider-arn arn:aws:lambda:us-west-2:111122223333:function:f" "--max-concurrency 0" \
  "--max-concurrency 1601" "--max-concurrency many"; do
  # shellcheck disable=SC2086 # flag and value
  deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" $bad
  [ "$rc" -ne 0 ] || problem "'$bad' accepted"
  expect_no_aws_call
done
verdict "malformed capacity provider ARN and concurrency values refused"

# --- full run against the fake aws ------------------------------------------
deploy_run "${real[@]}" --region us-west-2-prod --oauth-client-id my-client-id --oauth-client-secret "$SECRET_VALUE"
expect_rc 0
call_order=$(grep -v '^FILE \|^CONTENT ' "$FAKE_AWS_LOG" | cut -d' ' -f3,4 | tr '\n' ';')
[ "$call_order" = "s3 cp;cloudformation deploy;cloudformation describe-stacks;" ] || problem "aws calls: $call_order"
verdict "full run: s3 cp, then cloudformation deploy, then describe-stacks"
grep -qF "s3://my-artifacts-bucket/connect-pstn-transfer/connect-pstn-transfer-$version-arm64-$zip_sha16.zip" "$FAKE_AWS_LOG" \
  || problem "S3 key without version and sha256: $(head -n1 "$FAKE_AWS_LOG")"
grep -qF "CodeS3Key=connect-pstn-transfer/connect-pstn-transfer-$version-arm64-$zip_sha16.zip" "$FAKE_AWS_LOG" \
  || problem "CodeS3Key differs from the uploaded key"
verdict "full run: S3 key holds the version and the zip's sha256, same key deployed"
grep '^CONTENT ' "$FAKE_AWS_LOG" | grep -qF "\"OAuthClientSecret=$SECRET_VALUE\"" || problem "the CLI did not get the secret in its parameters file"
expect_lacks "Sup3r-s3cret"
expect_has "OAuthClientSecret=****"
verdict "full run: the CLI gets the real secret, the printed commands mask it"
! grep -v '^CONTENT ' "$FAKE_AWS_LOG" | grep -qF "Sup3r-s3cret" || problem "the secret is on an aws command line: $(grep -F Sup3r "$FAKE_AWS_LOG" | head -n1)"
grep -q '^FILE .* 600 700$' "$FAKE_AWS_LOG" || problem "parameters file not 0600 in a 0700 directory: $(grep '^FILE' "$FAKE_AWS_LOG")"
params_path=$(sed -n 's/^FILE \([^ ]*\) .*/\1/p' "$FAKE_AWS_LOG" | head -n1)
if [ -z "$params_path" ] || [ -e "$params_path" ] || [ -e "$(dirname "$params_path")" ]; then
  problem "parameters file $params_path left behind"
fi
verdict "full run: parameters in a file only the user can read (0600, directory 0700), removed afterwards; no secret in any argv"
python3 -c 'import json, sys; v = json.loads(sys.argv[1]); assert all(isinstance(x, str) and "=" in x for x in v)' \
  "$(sed -n 's/^CONTENT //p' "$FAKE_AWS_LOG" | head -n1)" 2>/dev/null || problem "parameters file is not a JSON list of Key=Value strings"
verdict "full run: parameters file is a JSON list of Key=Value strings (what aws cloudformation deploy reads)"

deploy_run "${real[@]}" --region us-west-2-prod --oauth-secret-arn "$SECRET_ARN" --https-proxy 'http://proxyuser:Pr0xy-pass@proxy.internal:3128'
expect_rc 0
expect_lacks "Pr0xy-pass"
expect_has "HttpsProxy=http://****@proxy.internal:3128"
verdict "full run: the proxy password is masked in the printed parameters"

# --- deploy.sh for real, against moto ---------------------------------------
# moto's server (infra/moto-server.py: moto plus the Lambda pieces of
# CloudFormation it lacks) on 127.0.0.1, the AWS CLI from the venv, and
# deploy.sh unchanged: a create with every option, an update with a changed
# zip, a stack with none, each read back through the CLI.
if [ "${SKIP_MOTO:-0}" = 1 ]; then
  echo "SKIP deploy.sh against moto (SKIP_MOTO=1)"
else
  moto_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$venv_bin/python" infra/moto-server.py -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  trap 'kill "$moto_pid" 2>/dev/null; wait "$moto_pid" 2>/dev/null; rm -rf "$work"' EXIT
  # The AWS CLI sees only moto: no profile, config or credentials of this machine.
  moto_env=(PATH="$venv_bin:$PATH" AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_ACCESS_KEY_ID=testing
    AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-west-2 AWS_REGION=us-west-2
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER="")
  maws() { env "${moto_env[@]}" timeout 60 aws "$@"; }
  # Waits up to 30 s for the server $1 (pid $2) to accept connections on 127.0.0.1.
  wait_listening() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 150; i++)); do
      kill -0 "$pid" 2>/dev/null || return 1
      python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" \
        2>/dev/null && return 0
      sleep 0.2
    done
    return 1
  }
  if ! wait_listening "$moto_port" "$moto_pid" || ! maws s3 mb s3://pstn-moto-artifacts >/dev/null 2>&1; then
    problem "moto did not start: $(tail -n 5 "$work/moto.log")"
    verdict "moto: server up on 127.0.0.1:$moto_port"
  else
    # Two small zips with different content: the update must change the code.
    python3 - "$work" <<'PY'
import sys, zipfile
for n in (1, 2):
    with zipfile.ZipFile(f"{sys.argv[1]}/moto-{n}.zip", "w") as z:
        z.writestr("bootstrap", f"#!/bin/sh\necho build {n}\n")
PY
    b64sha() { python3 -c 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1], "rb").read()).digest()).decode())' "$1"; }
    layer=$(maws lambda publish-layer-version --layer-name company-ca --zip-file "fileb://$work/moto-1.zip" \
      --query LayerVersionArn --output text 2>&1)
    connect_arn=arn:aws:connect:us-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555
    moto_secret_arn=arn:aws:secretsmanager:us-west-2:123456789012:secret:cresta/oauth-AbC123
    moto_kms_arn=arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    # shellcheck disable=SC2054 # comma lists are the values
    full=(--stack-name pstn-moto-full --function-name pstn-moto-full --bucket pstn-moto-artifacts
      --virtual-agent-name "$AGENT" --region us-west-2-prod --aws-region us-west-2
      --oauth-secret-arn "$moto_secret_arn" --kms-key-arn "$moto_kms_arn"
      --connect-instance-arn "$connect_arn" --subnet-ids subnet-0a1,subnet-0b2 --security-group-ids sg-0c3
      --https-proxy 'http://proxyuser:Pr0xy-pass@proxy.internal:3128' --no-proxy .amazonaws.com
      --ca-bundle-path /opt/certs/company-ca.pem --ca-bundle-layer-arn "$layer"
      --log-format JSON --log-level WARN --xray-tracing true --alias prod --provisioned-concurrency 2 --reserved-concurrency 5)
    # Runs deploy.sh against moto; sets out and rc.
    moto_deploy() {
      set +e
      out=$(env "${moto_env[@]}" timeout 180 "$deploy" "$@" </dev/null 2>&1)
      rc=$?
      set -e
    }
    # Checks a function configuration (JSON on stdin) against Python asserts.
    check_config() {
      python3 -c '
import json, sys
c = json.load(sys.stdin)
env = c.get("Environment", {}).get("Variables", {})
errors = []
for expr in sys.argv[1:]:
    try:
        ok = eval(expr, {"c": c, "env": env})
    except Exception as e:
        ok = False
    if not ok:
        errors.append(expr)
print("; ".join(errors))
sys.exit(1 if errors else 0)' "$@"
    }

    moto_deploy --zip "$work/moto-1.zip" "${full[@]}"
    expect_rc 0
    expect_has "Successfully created/updated stack - pstn-moto-full"
    expect_lacks "Pr0xy-pass"
    verdict "moto: deploy.sh creates the stack with every option; its output shows no proxy password"

    config=$(maws lambda get-function-configuration --function-name pstn-moto-full --output json 2>&1) || problem "$config"
    if ! why=$(check_config \
      'c["Runtime"] == "provided.al2023"' 'c["Handler"] == "bootstrap"' 'c["Timeout"] == 8' 'c["MemorySize"] == 128' \
      'c["Architectures"] == ["arm64"]' \
      'c["CodeSha256"] == "'"$(b64sha "$work/moto-1.zip")"'"' \
      'env["virtualAgentName"] == "'"$AGENT"'"' 'env["region"] == "us-west-2-prod"' \
      'env["oauthSecretArn"] == "'"$moto_secret_arn"'"' \
      '"oauthClientSecret" not in env and "apiDomain" not in env' <<<"$config"); then
      problem "configuration: $why"
    fi
    verdict "moto: function read back: provided.al2023, bootstrap, 8 s, 128 MB, arm64, the zip's sha256, environment"
    if ! why=$(check_config \
      'sorted(c["VpcConfig"]["SubnetIds"]) == ["subnet-0a1", "subnet-0b2"]' 'c["VpcConfig"]["SecurityGroupIds"] == ["sg-0c3"]' \
      'env["HTTPS_PROXY"] == "http://proxyuser:Pr0xy-pass@proxy.internal:3128"' 'env["NO_PROXY"] == ".amazonaws.com"' \
      'env["SSL_CERT_FILE"] == "/opt/certs/company-ca.pem"' '[l["Arn"] for l in c["Layers"]] == ["'"$layer"'"]' \
      'c["TracingConfig"]["Mode"] == "Active"' <<<"$config"); then
      problem "configuration: $why"
    fi
    verdict "moto: VPC subnets and security groups, HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE, CA layer, active tracing read back"
    [ "$(maws lambda get-function-concurrency --function-name pstn-moto-full --query ReservedConcurrentExecutions --output text 2>&1)" = 5 ] \
      || problem "reserved concurrency: $(maws lambda get-function-concurrency --function-name pstn-moto-full 2>&1)"
    verdict "moto: reserved concurrency 5 read back"
    role=$(maws lambda get-function-configuration --function-name pstn-moto-full --query Role --output text 2>&1)
    policies=$(maws iam list-role-policies --role-name "${role##*/}" --query 'PolicyNames' --output text 2>&1 | tr '\t' '\n' | sort | tr '\n' ' ')
    [ "$policies" = "decrypt-oauth-secret read-oauth-secret vpc-network-interfaces write-own-logs xray-write " ] \
      || problem "role policies: $policies"
    if ! why=$(python3 -c '
import json, sys
read, decrypt = (json.loads(x)["PolicyDocument"]["Statement"][0] for x in sys.argv[1:3])
errors = []
if read.get("Resource") != sys.argv[3] or read.get("Action") != "secretsmanager:GetSecretValue":
    errors.append(f"read-oauth-secret: {read}")
if decrypt.get("Resource") != sys.argv[4] or decrypt.get("Condition") != {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}}:
    errors.append(f"decrypt-oauth-secret: {decrypt}")
sys.exit("; ".join(errors) or None)' \
      "$(maws iam get-role-policy --role-name "${role##*/}" --policy-name read-oauth-secret --output json 2>&1)" \
      "$(maws iam get-role-policy --role-name "${role##*/}" --policy-name decrypt-oauth-secret --output json 2>&1)" \
      "$moto_secret_arn" "$moto_kms_arn" 2>&1); then
      problem "$why"
    fi
    eni=$(maws iam get-role-policy --role-name "${role##*/}" --policy-name vpc-network-interfaces --output json 2>&1)
    for action in ec2:CreateNetworkInterface ec2:DescribeNetworkInterfaces ec2:DeleteNetworkInterface; do
      grep -qF "$action" <<<"$eni" || problem "vpc-network-interfaces lacks $action"
    done
    verdict "moto: the role may read that one secret, decrypt via Secrets Manager in its region, manage the function's network interfaces (VPC) and write X-Ray segments"
    alias_version=$(maws lambda get-alias --function-name pstn-moto-full --name prod --query FunctionVersion --output text 2>&1)
    [[ "$alias_version" =~ ^[0-9]+$ ]] || problem "alias prod: $alias_version"
    invoke_arn=$(maws cloudformation describe-stacks --stack-name pstn-moto-full \
      --query "Stacks[0].Outputs[?OutputKey=='InvokeArn'].OutputValue" --output text 2>&1)
    [ "$invoke_arn" = "arn:aws:lambda:us-west-2:123456789012:function:pstn-moto-full:prod" ] || problem "output InvokeArn: $invoke_arn"
    verdict "moto: alias prod on published version $alias_version; output InvokeArn is the alias ARN"
    policy=$(maws lambda get-policy --function-name pstn-moto-full --qualifier prod --query Policy --output text 2>&1)
    if ! why=$(python3 -c '
import json, sys
s = json.loads(sys.argv[1])["Statement"]
want = [x for x in s if x.get("Principal") == {"Service": "connect.amazonaws.com"}
        and x.get("Action") == "lambda:InvokeFunction"
        and x.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") == sys.argv[2]
        and x.get("Condition", {}).get("StringEquals", {}).get("AWS:SourceAccount") == "123456789012"]
sys.exit(0 if want else f"no statement for Connect in {s}")' "$policy" "$connect_arn" 2>&1); then
      problem "permission: $why"
    fi
    verdict "moto: the alias lets connect.amazonaws.com invoke it, only from that instance and account"

    moto_deploy --zip "$work/moto-2.zip" "${full[@]}"
    expect_rc 0
    expect_has "Successfully created/updated stack - pstn-moto-full"
    sha=$(maws lambda get-function-configuration --function-name pstn-moto-full --query CodeSha256 --output text 2>&1)
    [ "$sha" = "$(b64sha "$work/moto-2.zip")" ] || problem "code after the update: $sha, expected the second zip's"
    [ "$(maws lambda get-alias --function-name pstn-moto-full --name prod --query Name --output text 2>&1)" = prod ] \
      || problem "alias gone after the update"
    maws lambda get-policy --function-name pstn-moto-full --qualifier prod >/dev/null 2>&1 || problem "permission gone after the update"
    verdict "moto: update with a changed zip: new code (sha256 of the second zip), alias and permission kept"

    moto_deploy --zip "$work/moto-1.zip" --stack-name pstn-moto-plain --function-name pstn-moto-plain \
      --bucket pstn-moto-artifacts --virtual-agent-name "$AGENT" --region us-west-2-prod --aws-region us-west-2 \
      --oauth-client-id moto-client-id --oauth-client-secret "$SECRET_VALUE"
    expect_rc 0
    expect_lacks "Sup3r-s3cret"
    verdict "moto: deploy.sh with a client id and secret; its output shows neither"
    config=$(maws lambda get-function-configuration --function-name pstn-moto-plain --output json 2>&1) || problem "$config"
    if ! why=$(check_config \
      'not c.get("VpcConfig") or not c["VpcConfig"].get("SubnetIds")' 'not c.get("Layers")' \
      'c["TracingConfig"]["Mode"] == "PassThrough"' \
      'not {"HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "oauthSecretArn"} & set(env)' \
      'env["oauthClientId"] == "moto-client-id"' 'env["oauthClientSecret"] == "'"$SECRET_VALUE"'"' <<<"$config"); then
      problem "configuration: $why"
    fi
    ! maws lambda get-function-concurrency --function-name pstn-moto-plain --query ReservedConcurrentExecutions --output text 2>/dev/null \
      | grep -q '[0-9]' || problem "reserved concurrency set without --reserved-concurrency"
    ! maws lambda get-policy --function-name pstn-moto-plain --qualifier live >/dev/null 2>&1 \
      || problem "a permission exists without --connect-instance-arn"
    [ "$(maws lambda get-alias --function-name pstn-moto-plain --name live --query Name --output text 2>&1)" = live ] \
      || problem "no alias live"
    role=$(maws lambda get-function-configuration --function-name pstn-moto-plain --query Role --output text 2>&1)
    policies=$(maws iam list-role-policies --role-name "${role##*/}" --query 'PolicyNames' --output text 2>&1)
    [ "$policies" = write-own-logs ] || problem "role policies without options: $policies"
    verdict "moto: without options: no VPC, layer, tracing, proxy, CA, concurrency, extra role policy or Connect permission; alias live"
  fi

  # Stock moto (no infra/moto-server.py): everything but the alias, its
  # permission for Connect and the role policies, which it does not model.
  stock_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$venv_bin/moto_server" -H 127.0.0.1 -p "$stock_port" >"$work/moto-stock.log" 2>&1 &
  stock_pid=$!
  trap 'kill "$moto_pid" "$stock_pid" 2>/dev/null; wait "$moto_pid" "$stock_pid" 2>/dev/null; rm -rf "$work"' EXIT
  moto_env=("${moto_env[@]/#AWS_ENDPOINT_URL=*/AWS_ENDPOINT_URL=http://127.0.0.1:$stock_port}")
  if ! wait_listening "$stock_port" "$stock_pid" || ! maws s3 mb s3://pstn-moto-artifacts >/dev/null 2>&1; then
    problem "stock moto did not start: $(tail -n 5 "$work/moto-stock.log")"
  fi
  moto_deploy --zip "$work/moto-1.zip" --stack-name pstn-stock --function-name pstn-stock --bucket pstn-moto-artifacts \
    --virtual-agent-name "$AGENT" --region us-west-2-prod --aws-region us-west-2 --oauth-secret-arn "$moto_secret_arn" \
    --subnet-ids subnet-0a1 --security-group-ids sg-0c3 --https-proxy http://proxy.internal:3128 --no-proxy .amazonaws.com \
    --ca-bundle-path /opt/certs/company-ca.pem --log-format JSON --log-level WARN --xray-tracing true \
    --provisioned-concurrency 1 --reserved-concurrency 2
  expect_rc 0
  expect_has "Successfully created/updated stack - pstn-stock"
  config=$(maws lambda get-function-configuration --function-name pstn-stock --output json 2>&1) || problem "$config"
  if ! why=$(check_config 'c["VpcConfig"]["SubnetIds"] == ["subnet-0a1"]' 'env["HTTPS_PROXY"] == "http://proxy.internal:3128"' \
    'c["CodeSha256"] == "'"$(b64sha "$work/moto-1.zip")"'"' <<<"$config"); then
    problem "configuration: $why"
  fi
  verdict "stock moto: deploy.sh creates the stack with every option but --connect-instance-arn (a permission on an alias needs infra/moto-server.py)"
fi

echo
if [ "$failures" -eq 0 ]; then
  echo "test-infra.sh: all checks passed"
else
  echo "test-infra.sh: $failures check(s) failed"
  exit 1
fi
