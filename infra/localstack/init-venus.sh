#!/bin/bash
# LocalStack ready hook: the DynamoDB table Venus keeps WebSocket connection state in. Its name comes from
# docker-compose.yml (VENUS_CONNECTIONS_TABLE, the same value Venus gets). Safe to run again (LocalStack
# runs ready hooks at every start); any other failure fails the hook, and LocalStack's health check with it.
# Tested against moto with the AWS CLI's awslocal (test/integration/compose-configs.test.ts).
set -euo pipefail
table="${VENUS_CONNECTIONS_TABLE:?VENUS_CONNECTIONS_TABLE must name Venus connection table}"

if awslocal dynamodb describe-table --table-name "$table" >/dev/null 2>&1; then
  echo "init-venus: table $table exists"
else
  awslocal dynamodb create-table \
    --table-name "$table" \
    --attribute-definitions AttributeName=connectionId,AttributeType=S \
    --key-schema AttributeName=connectionId,KeyType=HASH \
    --billing-mode PAY_PER_REQUEST >/dev/null
  awslocal dynamodb wait table-exists --table-name "$table"
  echo "init-venus: created table $table"
fi

ttl="$(awslocal dynamodb describe-time-to-live --table-name "$table" \
  --query 'TimeToLiveDescription.TimeToLiveStatus' --output text)"
if [[ "$ttl" != "ENABLED" && "$ttl" != "ENABLING" ]]; then
  awslocal dynamodb update-time-to-live --table-name "$table" \
    --time-to-live-specification Enabled=true,AttributeName=expiresAt >/dev/null
  echo "init-venus: items of $table expire at expiresAt"
fi
