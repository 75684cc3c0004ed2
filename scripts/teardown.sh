#!/usr/bin/env bash
# Deletes everything scripts/deploy.sh created: the resource group and every resource and role
# assignment in it.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bash scripts/teardown.sh <name-prefix> [options]
       bash scripts/teardown.sh -g <resource-group> [options]

Deletes the resource group that `npm run deploy -- <name-prefix> <location>` created (rg-<name-prefix>
unless -g was given), with every resource in it. Events, checkpoints, dead letters and logs are
deleted with it.

Options:
  -g, --resource-group <name>  Resource group to delete (default: rg-<name-prefix>).
  -y, --yes                    Do not ask for confirmation.
  --no-wait                    Return at once instead of waiting for the deletion to finish.
  -h, --help                   Show this help.
EOF
}

die() {
  printf 'teardown: %s\n' "$*" >&2
  exit 1
}

usage_error() {
  printf 'teardown: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

resource_group=''
assume_yes=false
wait_flag=()
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
    -y | --yes)
      assume_yes=true
      shift
      ;;
    --no-wait)
      wait_flag=(--no-wait)
      shift
      ;;
    -*) usage_error "unknown option: $1" ;;
    *)
      positionals+=("$1")
      shift
      ;;
  esac
done

if [[ -z "$resource_group" ]]; then
  ((${#positionals[@]} == 1)) || usage_error "expected <name-prefix> or -g <resource-group>"
  [[ "${positionals[0]}" =~ ^[a-z][a-z0-9-]{0,10}[a-z0-9]$ ]] ||
    usage_error "invalid name prefix '${positionals[0]}'"
  resource_group="rg-${positionals[0]}"
elif ((${#positionals[@]} > 0)); then
  usage_error "give either <name-prefix> or -g <resource-group>, not both"
fi

command -v az >/dev/null 2>&1 ||
  die "the Azure CLI (az) is not installed or not on PATH. Install it: https://learn.microsoft.com/cli/azure/install-azure-cli"
subscription="$(az account show --query name -o tsv 2>/dev/null)" ||
  die "the Azure CLI is not signed in. Run: az login"

[[ "$(az group exists --name "$resource_group")" == true ]] ||
  die "resource group '$resource_group' does not exist in subscription '$subscription'"

printf "Resource group '%s' in subscription '%s' contains:\n" "$resource_group" "$subscription"
az resource list --resource-group "$resource_group" --query '[].[type, name]' -o tsv | sed 's/^/  /'

if [[ "$assume_yes" == false ]]; then
  [[ -t 0 ]] || die "not a terminal: pass --yes to delete without confirmation"
  read -r -p "Delete it and everything in it? Type the group name to confirm: " answer
  [[ "$answer" == "$resource_group" ]] || die "not confirmed; nothing deleted"
fi

# The ${a[@]+...} form keeps an empty array safe under set -u in the bash 3.2 that macOS ships.
az group delete --name "$resource_group" --yes ${wait_flag[@]+"${wait_flag[@]}"}
if ((${#wait_flag[@]} > 0)); then
  printf "Deletion of '%s' started; follow it with: az group show -n %s\n" "$resource_group" "$resource_group"
else
  printf "Deleted '%s'.\n" "$resource_group"
fi
