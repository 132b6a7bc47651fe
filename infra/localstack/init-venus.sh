#!/bin/bash
# LocalStack ready hook: the DynamoDB table Venus keeps WebSocket connection state in.
set -euo pipefail
awslocal dynamodb create-table \
  --table-name "${VENUS_CONNECTIONS_TABLE:-packetpulse-venus-connections}" \
  --attribute-definitions AttributeName=connectionId,AttributeType=S \
  --key-schema AttributeName=connectionId,KeyType=HASH \
  --billing-mode PAY_PER_REQUEST || true
awslocal dynamodb update-time-to-live \
  --table-name "${VENUS_CONNECTIONS_TABLE:-packetpulse-venus-connections}" \
  --time-to-live-specification Enabled=true,AttributeName=expiresAt || true
