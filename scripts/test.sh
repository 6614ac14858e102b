#!/usr/bin/env bash
# The README's test command (./nimbus test): installs what the tests need on Debian 12, builds, runs every test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
# Egress of isolated instance networks (NIMBUS_SANDBOX_NETWORK=isolated; HostileFunctionTests).
command -v slirp4netns >/dev/null || need+=(slirp4netns)
[[ -x /usr/bin/aws ]] || need+=(awscli)
command -v zip >/dev/null || need+=(zip)
command -v curl >/dev/null || need+=(curl)
command -v flock >/dev/null || need+=(util-linux)
# FunctionUrlClientTests load a function URL's page in headless Chromium.
command -v chromium >/dev/null || need+=(chromium)
# Debian's boto3 (1.26, SQS over the query protocol) in /usr/bin/python3, beside the image's newer one (QueueClientTests).
/usr/bin/python3 -c 'import boto3' 2>/dev/null || need+=(python3-boto3)
# javac and jar build the Java runtime client and the Java function fixture.
command -v javac >/dev/null && command -v jar >/dev/null || need+=(openjdk-17-jdk-headless)
# AWS's aws-lambda-ric (RicTests, installed once into artifacts/aws-lambda-ric) builds its native part with these.
for tool in autoconf automake libtoolize cmake g++ make; do
  command -v "$tool" >/dev/null || need+=("$([[ $tool == libtoolize ]] && echo libtool || echo "$tool")")
done
if ((${#need[@]})); then
  echo "test: installing ${need[*]}..."
  sudo_cmd=""; [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "test: checking formatting..."
dotnet format Nimbus.slnx --verify-no-changes --verbosity quiet

echo "test: building..."
./nimbus build
dotnet build Nimbus.slnx -c Release -nologo -v quiet -clp:ErrorsOnly

echo "test: running tests..."
dotnet test Nimbus.slnx -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
