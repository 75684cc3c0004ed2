#!/usr/bin/env bash
# Takes a signed-in Azure CLI user from nothing to a proven deployment: resource group, infrastructure
# (infra/main.bicep), build, `func azure functionapp publish` (retrying the failures a new app goes
# through), then proof that it works: the functions listed, a smoke event accepted by the endpoint and
# seen by the consumer in Application Insights. Prints the endpoint and a curl example, never the
# function key. Safe to run again: the template and the publish are idempotent.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly http_function='publishEvents'
# Kusto queries are kept in single-quoted lines of this form: test/infra/kustoQueries.test.ts checks them.
readonly consumer_lines_query='traces | where message startswith "EventProcessed " | project timestamp, message | take 20'
# The smoke event's line (%s: the event's id), and the errors to look at when it does not come.
readonly smoke_query='traces | where timestamp > ago(1h) | where message startswith "EventProcessed " and message contains "%s" | project timestamp, message | take 1'
readonly errors_query='union traces, exceptions | where timestamp > ago(1h) | where severityLevel >= 3 or itemType == "exception" | project timestamp, itemType, message = coalesce(message, outerMessage) | take 50'
readonly min_core_tools_version='4.0.5274'
# Attempts of the publish and of each proof step; the waits between them double from retry_seconds
# up to 8 times it (15, 30, 60, 120, 120, ... s: about 10 minutes in all). Tests set 0.
readonly publish_attempts=8
readonly proof_attempts=8
readonly retry_seconds="${DEPLOY_RETRY_SECONDS:-15}"

usage() {
  cat <<'EOF'
Usage: npm run deploy -- <name-prefix> <location> [options]
       bash scripts/deploy.sh <name-prefix> <location> [options]

Deploys Event Hubs, storage, Application Insights and a Flex Consumption function app
(infra/main.bicep) into a resource group, builds the app, publishes it with Azure Functions Core
Tools, proves the deployment (functions listed, a smoke event through the endpoint shows up as the
consumer's EventProcessed line in Application Insights), and prints the endpoint and a curl example.

Arguments:
  <name-prefix>   2-12 characters: lowercase letters, digits, hyphens; starts with a letter.
                  Every resource name contains it (e.g. func-<name-prefix>-<suffix>).
  <location>      Azure region that offers Flex Consumption, e.g. eastus, westeurope, swedencentral
                  (list them: az functionapp list-flexconsumption-locations -o table).

Options:
  -g, --resource-group <name>  Resource group to create or reuse (default: rg-<name-prefix>).
  --developer-access           Also grant you (the signed-in user) data roles on the event hub and
                               on the containers the app uses (checkpoints, host locks, dead
                               letters), to run the app locally against Azure.
  --infra-only                 Deploy the infrastructure; do not build or publish the app.
  -h, --help                   Show this help.

Requires: Azure CLI signed in (az login), Azure Functions Core Tools 4.0.5274 or later (the
project's pinned azure-functions-core-tools, else func on PATH), Node.js 20+ and npm, bash (Linux,
macOS, WSL or Git Bash).
Tear down: bash scripts/teardown.sh <name-prefix>
EOF
}

die() {
  printf 'deploy: %s\n' "$*" >&2
  exit 1
}

usage_error() {
  printf 'deploy: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

step() {
  printf '\n==> %s\n' "$*"
}

# Waits before retry $1 of $2, saying what for ($3).
wait_before_retry() {
  local exponent=$(($1 - 1))
  ((exponent <= 3)) || exponent=3
  local delay=$((retry_seconds * (1 << exponent)))
  printf '  Waiting %d s for %s (retry %d of %d)\n' "$delay" "$3" "$1" "$2"
  sleep "$delay"
}

# --- Arguments ------------------------------------------------------------------------------------

prefix=''
location=''
resource_group=''
developer_access=false
infra_only=false
positionals=()

while (($# > 0)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    -g | --resource-group)
      (($# >= 2)) || usage_error "$1 needs a value"
      resource_group="$2"
      shift 2
      ;;
    --developer-access)
      developer_access=true
      shift
      ;;
    --infra-only)
      infra_only=true
      shift
      ;;
    -*) usage_error "unknown option: $1" ;;
    *)
      positionals+=("$1")
      shift
      ;;
  esac
done

((${#positionals[@]} == 2)) || usage_error "expected <name-prefix> and <location>, got ${#positionals[@]} argument(s)"
prefix="${positionals[0]}"
location="${positionals[1]}"
[[ "$prefix" =~ ^[a-z][a-z0-9-]{0,10}[a-z0-9]$ ]] ||
  usage_error "invalid name prefix '$prefix': 2-12 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen"
[[ "$location" =~ ^[a-z0-9]+$ ]] ||
  usage_error "invalid location '$location': use the short form, e.g. eastus or westeurope"
resource_group="${resource_group:-rg-$prefix}"

# --- Platform, tools and sign-in ------------------------------------------------------------------

# Git Bash runs Windows builds of az, func, node and npm: they print CRLF line ends and C:\ paths,
# which every read below takes into account (az_out strips the CR; deploy-helper.mjs relates paths).
case "$(uname -s)" in
  Linux | Darwin) ;;
  MINGW* | MSYS* | CYGWIN*) printf 'Windows (%s): using the Windows az, func, node and npm\n' "$(uname -s)" ;;
  *) die "unsupported system '$(uname -s)': run this script with bash on Linux, macOS, WSL or Git Bash on Windows" ;;
esac

# az's output without the CR a Windows build puts before each line feed.
az_out() {
  az "$@" | tr -d '\r'
}

helper() {
  node "$root/scripts/deploy-helper.mjs" "$@"
}

command -v az >/dev/null 2>&1 ||
  die "the Azure CLI (az) is not installed or not on PATH. Install it: https://learn.microsoft.com/cli/azure/install-azure-cli"
command -v node >/dev/null 2>&1 || die "Node.js is not on PATH; install Node.js 20 or later: https://nodejs.org"
# True when version $1 (major.minor.patch, anything after ignored) is at least $2.
version_at_least() {
  local found minimum index
  IFS=. read -r -a found <<<"${1%%[!0-9.]*}"
  IFS=. read -r -a minimum <<<"$2"
  for index in 0 1 2; do
    ((10#${found[index]:-0} > 10#${minimum[index]})) && return 0
    ((10#${found[index]:-0} < 10#${minimum[index]})) && return 1
  done
  return 0
}

# Sets func_bin: the project's own Core Tools (azure-functions-core-tools, an exact-pinned optional
# dependency) when its binary is installed, else a func on PATH, saying why. Under `npm run`,
# node_modules/.bin comes first on PATH and its `func` is the package's launcher, which without the
# binary would try to download it: that directory is skipped. local/stack/coreTools.ts (npm run
# start:func) chooses the same way.
find_core_tools() {
  local package_dir="$root/node_modules/azure-functions-core-tools" binary version='' why dir
  [[ -f "$package_dir/package.json" ]] &&
    version="$(cd "$package_dir" && node -p 'require("./package.json").version' 2>/dev/null | tr -d '\r')"
  if [[ -n "$version" ]]; then
    for binary in "$package_dir/bin/func" "$package_dir/bin/func.exe"; do
      if [[ -f "$binary" && -x "$binary" ]]; then
        func_bin="$binary"
        printf "Core Tools:     the project's pinned azure-functions-core-tools %s\n" "$version"
        return 0
      fi
    done
    why="azure-functions-core-tools $version is installed without its binary (its install script did not run or could not download it; to fetch it: node node_modules/azure-functions-core-tools/lib/install.js)"
  else
    why="the project's pinned azure-functions-core-tools is not installed (npm leaves out this optional dependency when its download fails)"
  fi
  local search_path='' entries
  IFS=: read -r -a entries <<<"$PATH"
  for dir in ${entries[@]+"${entries[@]}"}; do
    [[ "${dir%/}" == "$root/node_modules/.bin" ]] || search_path="${search_path:+$search_path:}$dir"
  done
  func_bin="$(PATH="$search_path" command -v func || true)"
  [[ -n "$func_bin" ]] ||
    die "Azure Functions Core Tools (func) is not available: $why, and no func is on PATH. Install Core Tools $min_core_tools_version or later: https://learn.microsoft.com/azure/azure-functions/functions-run-local (or deploy the infrastructure alone with --infra-only)"
  printf 'Core Tools:     %s; using %s\n' "$why" "$func_bin"
}

if [[ "$infra_only" == false ]]; then
  find_core_tools
  func_version="$("$func_bin" --version 2>/dev/null | tr -d '\r' | head -n 1 || true)"
  # Publishing to Flex Consumption exists from Core Tools 4.0.5274 (core-tools commit "Flex
  # Deployment (#3404)"); an older func does not know the plan and its publish fails.
  if ! [[ "$func_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || ! version_at_least "$func_version" "$min_core_tools_version"; then
    die "Azure Functions Core Tools $min_core_tools_version or later is required to publish to Flex Consumption; found '${func_version:-no version}' ($func_bin). Update it: https://learn.microsoft.com/azure/azure-functions/functions-run-local"
  fi
  command -v npm >/dev/null 2>&1 || die "npm is not on PATH; install Node.js 20 or later: https://nodejs.org"
fi

account="$(az_out account show --query '[name, id, user.name]' -o tsv 2>/dev/null)" ||
  die "the Azure CLI is not signed in. Run: az login   (then, to pick a subscription: az account set --subscription <name or id>)"
IFS=$'\t' read -r subscription_name subscription_id signed_in_as <<<"$account"

printf 'Subscription:   %s (%s)\n' "$subscription_name" "$subscription_id"
printf 'Signed in as:   %s\n' "$signed_in_as"
printf 'Resource group: %s in %s\n' "$resource_group" "$location"

# --- Subscription readiness -----------------------------------------------------------------------

step 'Registering resource providers (only those not registered yet)'
# Flex Consumption apps also need Microsoft.App; a fresh subscription has none of these registered.
for namespace in Microsoft.App Microsoft.Web Microsoft.EventHub Microsoft.Storage Microsoft.Insights \
  Microsoft.OperationalInsights Microsoft.ManagedIdentity; do
  state="$(az_out provider show --namespace "$namespace" --query registrationState -o tsv 2>/dev/null || true)"
  if [[ "$state" != 'Registered' ]]; then
    printf '  %s (%s) ...\n' "$namespace" "${state:-unknown}"
    az provider register --namespace "$namespace" --wait -o none
  fi
done

flex_locations="$(az_out functionapp list-flexconsumption-locations --query '[].name' -o tsv 2>/dev/null || true)"
# Names may come as "swedencentral" or "Sweden Central".
flex_locations="$(tr '[:upper:]' '[:lower:]' <<<"$flex_locations" | tr -d ' ')"
if [[ -z "$flex_locations" ]]; then
  printf 'Could not list the Flex Consumption regions (older Azure CLI?); continuing with %s.\n' "$location"
elif ! grep -qx "$location" <<<"$flex_locations"; then
  die "Flex Consumption is not offered in '$location'. Regions that offer it: $(tr '\n' ' ' <<<"$flex_locations")"
fi

# --- Infrastructure -------------------------------------------------------------------------------

step "Updating the Azure CLI's Bicep"
# The templates use recent Bicep syntax (modules without names, .bicepparam with environment
# variables); an older Bicep that az installed long ago fails with compile errors. No-op when current.
az bicep upgrade --only-show-errors >/dev/null 2>&1 || az bicep install --only-show-errors ||
  die "could not install or upgrade Bicep (az bicep upgrade); the templates need a recent Bicep (tested with 0.49)"

step "Creating resource group $resource_group"
az group create --name "$resource_group" --location "$location" \
  --tags application=eventhubs-functions-reference "name-prefix=$prefix" -o none

developer_principal_id=''
if [[ "$developer_access" == true ]]; then
  developer_principal_id="$(az_out ad signed-in-user show --query id -o tsv 2>/dev/null)" ||
    die "--developer-access needs a signed-in user (a service principal login has no 'signed-in user'); grant roles to it with developerPrincipalId/developerPrincipalType in infra/main.bicepparam instead"
fi

deployment="eventhubs-functions-$(date -u +%Y%m%d%H%M%S)"
step "Deploying infra/main.bicep as $deployment (first run: about 3-5 minutes)"
outputs="$(
  NAME_PREFIX="$prefix" DEVELOPER_PRINCIPAL_ID="$developer_principal_id" \
    az deployment group create \
    --resource-group "$resource_group" \
    --name "$deployment" \
    --parameters "$root/infra/main.bicepparam" \
    --query properties.outputs -o json
)" || die "the deployment failed (see the error above). Details: az deployment operation group list -g $resource_group -n $deployment -o table"

output() {
  helper output "$1" <<<"$outputs" | tr -d '\r'
}
function_app="$(output functionAppName)"
key_command="az functionapp function keys list -g $resource_group -n $function_app --function-name $http_function --query default -o tsv"
publish_url="$(output publishEventsUrl)"
app_insights="$(output appInsightsName)"
printf 'Function app:   %s\nEvent Hubs:     %s/%s (consumer group %s)\n' \
  "$function_app" "$(output eventHubsFullyQualifiedNamespace)" "$(output eventHubName)" "$(output consumerGroupName)"

if [[ "$infra_only" == true ]]; then
  printf '\nInfrastructure deployed. Publish the app later with: npm run deploy -- %s %s\n' "$prefix" "$location"
  exit 0
fi

# --- Build and package ----------------------------------------------------------------------------

step 'Building the app'
cd "$root"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
# A clean build: a stale file left in dist/ from a deleted function would be deployed as a function.
npm run clean
npm run build

# Flex Consumption runs the package as uploaded (Core Tools does no remote build for Node unless
# asked), so the package must carry compiled JavaScript and production dependencies only. It is
# staged in a temporary folder, leaving node_modules untouched, with the production packages exactly
# as installed here (those `npm ls --omit=dev` lists): what was tested is what runs.
staging="$(mktemp -d "${TMPDIR:-/tmp}/eventhubs-functions-package.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
cp -R dist host.json package.json .funcignore "$staging/"
# npm ls lists the production packages as installed; the helper makes the paths relative to the
# project (a Windows npm prints C:\... paths, which bash cannot strip a /c/... prefix from).
npm_listing="$(npm ls --omit=dev --all --parseable)" ||
  die "npm ls reports problems with the installed production dependencies; run npm ci and try again"
copied=0
while IFS= read -r relative; do
  [[ -n "$relative" ]] || continue
  mkdir -p "$staging/$(dirname "$relative")"
  cp -R "$relative" "$staging/$relative"
  copied=$((copied + 1))
done < <(helper production-packages <<<"$npm_listing" | tr -d '\r')
((copied > 0)) || die "found no production dependency to package (npm ls --omit=dev listed none under $(head -n 1 <<<"$npm_listing"))"
printf 'Package: dist/, host.json, package.json and %d production packages\n' "$copied"

# --- Publish --------------------------------------------------------------------------------------

step "Publishing to $function_app"
# Right after a first deployment three failures of a publish are only a matter of waiting; each is
# retried with its own reason, anything else stops the script with Core Tools' message.
host_unhealthy_after_publish=false
attempt=1
while true; do
  # FUNCTIONS_WORKER_RUNTIME tells Core Tools the project's language (there is no local.settings.json
  # in the package); --build local keeps the package exactly as staged; --subscription makes Core
  # Tools look for the app in the subscription deployed to, not in every subscription of the account
  # (Core Tools' AzureHelper.GetFunctionApp). The output is shown as it comes (through cat:
  # /dev/stderr cannot be opened when stderr is a socket) and kept for the checks below.
  if publish_log="$(cd "$staging" && FUNCTIONS_WORKER_RUNTIME=node "$func_bin" azure functionapp publish \
    "$function_app" --subscription "$subscription_id" --build local 2>&1 | tr -d '\r' | tee >(cat >&2))"; then
    break
  fi
  if grep -qF 'Deployment was successful but the app appears to be unhealthy' <<<"$publish_log"; then
    # Core Tools uploaded the package, waited 60 s and found the host not running yet
    # (PublishFunctionAppAction.cs, CheckFunctionHostStatusForFlex). Uploading again would not make
    # it start sooner: the checks below wait for it instead.
    printf '\nThe package is deployed; the host was not healthy yet 60 s later (a new app starting while its roles propagate). Not uploading again: waiting for the host below.\n'
    host_unhealthy_after_publish=true
    break
  fi
  waiting_for=''
  if grep -qF "Can't find app with name" <<<"$publish_log"; then
    # Core Tools finds the app through Azure Resource Graph, which lists a new app minutes after it
    # exists (Core Tools' AzureHelper.GetFunctionApp; azure-functions-core-tools #1616, #1766).
    waiting_for="Azure Resource Graph to list the new app (Core Tools finds apps through it)"
  elif grep -qiE '\b403\b|forbidden|AuthorizationPermissionMismatch|AuthorizationFailure' <<<"$publish_log"; then
    waiting_for="the deployment identity's new role on the package container to propagate (upload refused with 403)"
  fi
  [[ -n "$waiting_for" ]] ||
    die "publishing failed: $(grep -v '^[[:space:]]*$' <<<"$publish_log" | tail -n 1)"
  ((attempt < publish_attempts)) ||
    die "publishing still fails after $publish_attempts attempts; it was waiting for $waiting_for"
  wait_before_retry "$attempt" "$((publish_attempts - 1))" "$waiting_for"
  attempt=$((attempt + 1))
done

# --- Proof ----------------------------------------------------------------------------------------

step 'Proving the deployment'
# Runs the check ($2) until it succeeds, at most $1 times. A failing check says in waiting_for what it
# waits for, or stops the script itself when waiting cannot help.
retry() {
  local attempts="$1" check="$2" attempt=1
  while ! "$check"; do
    ((attempt < attempts)) || return 1
    wait_before_retry "$attempt" "$((attempts - 1))" "$waiting_for"
    attempt=$((attempt + 1))
  done
}

check_functions() {
  # Names come as <app>/<function>.
  functions="$(az_out functionapp function list --resource-group "$resource_group" --name "$function_app" \
    --query '[].name' -o tsv 2>/dev/null | sed 's#^.*/##' | sort | tr '\n' ' ' || true)"
  functions="${functions% }"
  waiting_for="the host to load the app and list its functions (listed so far: ${functions:-none})"
  [[ " $functions " == *" $http_function "* ]]
}
if ! retry "$proof_attempts" check_functions; then
  [[ "$host_unhealthy_after_publish" == false ]] ||
    die "the host is still unhealthy after the publish; its errors are in the app's Log stream (portal) and in: az monitor app-insights query -g $resource_group --app $app_insights --analytics-query '$errors_query'"
  die "the app lists no $http_function function (listed: ${functions:-none}); check that the package holds dist/ (see the publish output above)"
fi
printf '  Functions:    %s\n' "$functions"

# The function key is a credential: it stays in this variable, reaches the helper on stdin (never a
# command line, which ps shows) and is never printed. xtrace is paused around it, so even
# `bash -x scripts/deploy.sh` does not print it.
function_key=''
check_key() {
  local xtrace has_key=1
  xtrace="$(set +o | grep xtrace)"
  set +x
  function_key="$(az_out functionapp function keys list --resource-group "$resource_group" --name "$function_app" \
    --function-name "$http_function" --query default -o tsv 2>/dev/null || true)"
  [[ -z "$function_key" ]] || has_key=0
  eval "$xtrace"
  waiting_for="the function key of $http_function"
  return "$has_key"
}
retry "$proof_attempts" check_key ||
  die "the function key of $http_function is not available; try: $key_command"

smoke_id="$(node -p 'require("crypto").randomUUID()' | tr -d '\r')"
smoke_body="{\"source\":\"scripts/deploy.sh\",\"smokeTest\":true,\"smokeId\":\"$smoke_id\"}"
answer=''
check_smoke_event() {
  local xtrace status
  xtrace="$(set +o | grep xtrace)"
  set +x
  answer="$(printf '%s' "$function_key" | helper post-event "$publish_url" "$smoke_body" | tr -d '\r')"
  eval "$xtrace"
  status="${answer%% *}"
  case "$status" in
    2??) return 0 ;;
    # The host still starting, the key not known to it yet, the identity's Event Hubs role still
    # propagating (the app answers 503 then), or no answer at all.
    000 | 401 | 403 | 404 | 408 | 429 | 5??)
      waiting_for="the endpoint to accept the smoke event (last answer: HTTP $answer)"
      return 1
      ;;
    *) die "the endpoint refused the smoke event: HTTP $answer" ;;
  esac
}
retry "$proof_attempts" check_smoke_event ||
  die "the endpoint did not accept the smoke event; last answer: HTTP $answer"
printf '  Smoke event:  %s, answered HTTP %s\n' "$smoke_body" "$answer"

# `az monitor app-insights query` comes in an extension; installed up front, since the prompt az
# shows on first use fails when stdin is not a terminal.
az extension show --name application-insights -o none >/dev/null 2>&1 ||
  az extension add --name application-insights --only-show-errors -o none ||
  die "could not install the Azure CLI extension application-insights (az extension add --name application-insights)"
smoke_line_query="${smoke_query//%s/$smoke_id}"
check_smoke_line() {
  smoke_line="$(az_out monitor app-insights query --resource-group "$resource_group" --app "$app_insights" \
    --offset 1h --analytics-query "$smoke_line_query" -o json 2>/dev/null | helper query-rows | head -n 1 || true)"
  waiting_for="the consumer's EventProcessed line of the smoke event in Application Insights (ingestion takes minutes; a new app also starts its consumer)"
  [[ -n "$smoke_line" ]]
}
retry "$proof_attempts" check_smoke_line ||
  die "the smoke event was accepted, but its EventProcessed line has not reached Application Insights yet. Look again in a few minutes:
  az monitor app-insights query -g $resource_group --app $app_insights --offset 1h --analytics-query '$smoke_line_query'
If it does not come, the errors of the app and the host: az monitor app-insights query -g $resource_group --app $app_insights --analytics-query '$errors_query'"
printf '  Consumer:     %s\n' "$smoke_line"

# --- Ready ----------------------------------------------------------------------------------------

step 'Ready'
cat <<READY
Endpoint: POST $publish_url (function key in the x-functions-key header)

Send two events. The key goes from az straight to curl: it is not printed, and it stays out of your
shell history and the process list:
  $key_command |
    sed 's/^/x-functions-key: /' |
    curl -i -X POST '$publish_url' -H @- \\
      -H 'Content-Type: application/json' \\
      -d '[{"orderId":1,"amount":12.5},{"orderId":2,"amount":7}]'

The consumer's lines in Application Insights ($app_insights), a minute or two later:
  az monitor app-insights query -g $resource_group --app $app_insights --offset 1h \\
    --analytics-query '$consumer_lines_query'

More queries: docs/deploy.md. Tear down: bash scripts/teardown.sh $prefix$([[ "$resource_group" == "rg-$prefix" ]] || printf ' -g %s' "$resource_group")
READY
