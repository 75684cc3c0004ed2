#!/usr/bin/env bash
# Takes a signed-in Azure CLI user from nothing to a working endpoint: resource group, infrastructure
# (infra/main.bicep), build, `func azure functionapp publish`, then the endpoint, its function key and
# a curl example. Safe to run again: the template and the publish are idempotent.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly http_function='publishEvents'
# Kusto queries are kept in single-quoted lines of this form: test/infra/kustoQueries.test.ts checks them.
readonly consumer_lines_query='traces | where message startswith "EventProcessed " | project timestamp, message | take 20'
readonly min_core_tools_version='4.0.5274'
readonly publish_attempts=8
# Seconds between retries of the publish, the key lookup and the endpoint check (tests shorten it).
readonly retry_seconds="${DEPLOY_RETRY_SECONDS:-30}"

usage() {
  cat <<'EOF'
Usage: npm run deploy -- <name-prefix> <location> [options]
       bash scripts/deploy.sh <name-prefix> <location> [options]

Deploys Event Hubs, storage, Application Insights and a Flex Consumption function app
(infra/main.bicep) into a resource group, builds the app, publishes it with Azure Functions Core
Tools, and prints the endpoint with its function key and a curl example.

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

Requires: Azure CLI signed in (az login), Azure Functions Core Tools 4 (func), Node.js and npm.
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
attempt=1
while true; do
  # FUNCTIONS_WORKER_RUNTIME tells Core Tools the project's language (there is no local.settings.json
  # in the package); --build local keeps the package exactly as staged; --subscription makes Core
  # Tools look for the app in the subscription deployed to, not in every subscription of the account
  # (Core Tools' AzureHelper.GetFunctionApp). The output is shown as it comes (through cat:
  # /dev/stderr cannot be opened when stderr is a socket) and kept for the checks below.
  if publish_log="$(cd "$staging" && FUNCTIONS_WORKER_RUNTIME=node "$func_bin" azure functionapp publish \
    "$function_app" --subscription "$subscription_id" --build local 2>&1 | tee >(cat >&2))"; then
    break
  fi
  # Right after the first deployment the app's identity may not hold its role on the deployment
  # container yet (assignments take minutes to propagate); the upload then fails with 403.
  if ((attempt < publish_attempts)) &&
    grep -qiE '\b403\b|forbidden|AuthorizationPermissionMismatch|AuthorizationFailure' <<<"$publish_log"; then
    printf '\nPublish refused (role assignments still propagating); retry %d of %d in %d s...\n' \
      "$attempt" "$((publish_attempts - 1))" "$retry_seconds"
    sleep "$retry_seconds"
    attempt=$((attempt + 1))
    continue
  fi
  die "publishing failed (see the output above)"
done

# --- Check and endpoint ---------------------------------------------------------------------------

step 'Fetching the function key'
function_key=''
for _ in 1 2 3 4 5 6; do
  function_key="$(az functionapp function keys list --resource-group "$resource_group" --name "$function_app" \
    --function-name "$http_function" --query default -o tsv 2>/dev/null || true)"
  [[ -n "$function_key" ]] && break
  sleep "$retry_seconds"
done
key_command="az functionapp function keys list -g $resource_group -n $function_app --function-name $http_function --query default -o tsv"

# One event through the whole path proves the deployment (host up, key valid, roles in effect). The
# key goes to curl on stdin, so it never shows in the process list.
if [[ -n "$function_key" ]] && command -v curl >/dev/null 2>&1; then
  step 'Checking the endpoint with one event'
  status=''
  for attempt in $(seq 1 10); do
    # printf is a builtin and a pipe is no file: a here-string would be a temporary file in bash < 5.1.
    status="$(printf 'x-functions-key: %s\n' "$function_key" |
      curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -X POST "$publish_url" \
        -H @- -H 'Content-Type: application/json' \
        -d '{"source":"scripts/deploy.sh","smokeTest":true}' || true)"
    [[ "$status" == 2?? ]] && break
    printf '  attempt %d: HTTP %s (host starting or roles propagating); retrying in %d s\n' \
      "$attempt" "${status:-no answer}" "$retry_seconds"
    sleep "$retry_seconds"
  done
  if [[ "$status" == 2?? ]]; then
    printf '  HTTP %s: the event was accepted by Event Hubs.\n' "$status"
  else
    printf '  No success yet (last answer: HTTP %s). Give the role assignments a few more minutes.\n' "${status:-none}"
  fi
fi

step 'Ready'
printf 'Endpoint: POST %s\n' "$publish_url"
# The key is a credential: shown on an interactive terminal only, never written to a file or log.
shown_key='<function key>'
if [[ -z "$function_key" ]]; then
  printf 'The function key is not available yet; fetch it in a minute with:\n  %s\n' "$key_command"
elif [[ -t 1 ]]; then
  shown_key="$function_key"
  printf 'Function key: %s   (a credential: keep it out of files, chats and logs)\n' "$function_key"
else
  printf 'Function key: not printed because the output is not a terminal. Fetch it with:\n  %s\n' "$key_command"
fi

cat <<EOF

Send two events:
  curl -i -X POST '$publish_url' \\
    -H 'x-functions-key: $shown_key' \\
    -H 'Content-Type: application/json' \\
    -d '[{"orderId":1,"amount":12.5},{"orderId":2,"amount":7}]'

Right after a first deployment, requests may answer 503 until the role assignments propagate (a few
minutes). The consumer's lines reach Application Insights ($app_insights) within a few minutes:
  az monitor app-insights query -g $resource_group --app $app_insights \\
    --analytics-query '$consumer_lines_query'

More queries: docs/deploy.md. Tear down: bash scripts/teardown.sh $prefix$([[ "$resource_group" == "rg-$prefix" ]] || printf ' -g %s' "$resource_group")
EOF
