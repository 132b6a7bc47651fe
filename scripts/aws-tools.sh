#!/usr/bin/env bash
# AWS command-line tools for the tests, from PyPI into a virtualenv in the cache outside the repository:
# cfn-lint (checks the CloudFormation template `serverless package` writes) and the AWS CLI with its
# LocalStack wrapper `awslocal` (runs LocalStack's init script of docker-compose.yml against moto).
#
#   bash scripts/aws-tools.sh install    # prints the path of the virtualenv's bin folder
#
# Settings: PACKETPULSE_CACHE (default ~/.cache/packetpulse)
set -euo pipefail
CFN_LINT_VERSION=1.51.0
AWSCLI_VERSION=1.45.11
AWSCLI_LOCAL_VERSION=0.23.0
CACHE_ROOT="${PACKETPULSE_CACHE:-$HOME/.cache/packetpulse}"
VENV="$CACHE_ROOT/aws-tools-cfnlint$CFN_LINT_VERSION-awscli$AWSCLI_VERSION-local$AWSCLI_LOCAL_VERSION"

case "${1:-}" in
  install)
    if [[ ! -f "$VENV/.complete" ]]; then
      echo "installing cfn-lint $CFN_LINT_VERSION, awscli $AWSCLI_VERSION and awscli-local $AWSCLI_LOCAL_VERSION into $VENV" >&2
      rm -rf "$VENV"
      python3 -m venv "$VENV"
      "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "cfn-lint==$CFN_LINT_VERSION" "awscli==$AWSCLI_VERSION" "awscli-local==$AWSCLI_LOCAL_VERSION"
      touch "$VENV/.complete"
    fi
    echo "$VENV/bin"
    ;;
  *)
    echo "usage: bash scripts/aws-tools.sh install" >&2
    exit 2
    ;;
esac
