#!/usr/bin/env bash
# Restores the Bicep compiler into .tools/bicep/ (git-ignored) from the NuGet package
# Azure.Bicep.CommandLine.<runtime>, using only the .NET SDK: no Azure CLI, no download script.
# test/infra compiles and lints infra/ with it. Idempotent: returns at once when the pinned
# version is already there.
set -euo pipefail

readonly bicep_version="${BICEP_VERSION:-0.49.2}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly root
readonly target_dir="$root/.tools/bicep"
readonly target="$target_dir/bicep"

fail() {
  printf 'install-bicep: %s\n' "$*" >&2
  printf 'install-bicep: without it, test/infra checks Bicep syntax only. Other ways to get the compiler: az bicep install, or https://learn.microsoft.com/azure/azure-resource-manager/bicep/install\n' >&2
  exit 1
}

installed_version() {
  "$1" --version 2>/dev/null | sed -n 's/^Bicep CLI version \([0-9.]*\).*/\1/p'
}

if [[ -x "$target" && "$(installed_version "$target")" == "$bicep_version" ]]; then
  printf 'Bicep %s already in .tools/bicep\n' "$bicep_version"
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) runtime='linux-x64' ;;
  Linux/aarch64 | Linux/arm64) runtime='linux-arm64' ;;
  Darwin/x86_64) runtime='osx-x64' ;;
  Darwin/arm64) runtime='osx-arm64' ;;
  *) fail "no Bicep package for $(uname -s)/$(uname -m)" ;;
esac
readonly package="Azure.Bicep.CommandLine.$runtime"

command -v dotnet >/dev/null 2>&1 || fail "the .NET SDK (dotnet) is not installed, so $package cannot be restored"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
sdk_version="$(dotnet --version 2>/dev/null)" || fail "dotnet is present but no .NET SDK answers 'dotnet --version'"
# Restore needs some target framework; the installed SDK's own one needs no extra download.
target_framework="net${sdk_version%%.*}.0"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/restore-bicep.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>$target_framework</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$package" Version="[$bicep_version]" />
  </ItemGroup>
</Project>
EOF

printf 'Restoring %s %s with dotnet %s...\n' "$package" "$bicep_version" "$sdk_version"
dotnet restore "$work/restore-bicep.csproj" --verbosity quiet >"$work/restore.log" 2>&1 || {
  cat "$work/restore.log" >&2
  fail "dotnet restore could not get $package $bicep_version from the configured NuGet sources"
}

packages="$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: *//p')"
packages="${packages%/}"
lower_package="$(tr '[:upper:]' '[:lower:]' <<<"$package")"
source="$packages/$lower_package/$bicep_version/tools/bicep"
[[ -f "$source" ]] || fail "restore succeeded but $source is missing"

mkdir -p "$target_dir"
cp "$source" "$target.partial"
chmod +x "$target.partial"
mv -f "$target.partial" "$target"

[[ "$(installed_version "$target")" == "$bicep_version" ]] ||
  fail "$target does not run or reports another version: $("$target" --version 2>&1 | head -n 1)"
printf 'Bicep %s installed in .tools/bicep\n' "$bicep_version"
