// The AMQP error conditions and descriptions Event Hubs uses, so the SDKs map them to the same
// error codes (MessagingEntityNotFoundError, ReceiverDisconnectedError, QuotaExceededError, ...)
// as against Azure.
export interface AmqpError {
  condition: string;
  description: string;
}

export const Condition = {
  notFound: 'amqp:not-found',
  unauthorized: 'amqp:unauthorized-access',
  argumentOutOfRange: 'com.microsoft:argument-out-of-range',
  argumentError: 'com.microsoft:argument-error',
  linkStolen: 'amqp:link:stolen',
  resourceLimitExceeded: 'amqp:resource-limit-exceeded',
  messageSizeExceeded: 'amqp:link:message-size-exceeded',
  notImplemented: 'amqp:not-implemented',
  internalError: 'amqp:internal-error',
  decodeError: 'amqp:decode-error',
  producerEpochStolen: 'com.microsoft:producer-epoch-stolen',
  outOfOrderSequence: 'com.microsoft:out-of-order-sequence',
  connectionForced: 'amqp:connection:forced',
} as const;

export const MAX_NON_EPOCH_RECEIVERS = 5;

export function entityNotFound(host: string, hub: string): AmqpError {
  return {
    condition: Condition.notFound,
    description: `The messaging entity 'sb://${host}/${hub}' could not be found.`,
  };
}

export function consumerGroupNotFound(namespace: string, hub: string, consumerGroup: string): AmqpError {
  return {
    condition: Condition.notFound,
    description: `The messaging entity '${namespace}:eventhub:${hub}~0|${consumerGroup}' could not be found.`,
  };
}

export function partitionOutOfRange(partition: string, partitionCount: number): AmqpError {
  return {
    condition: Condition.argumentOutOfRange,
    description:
      `The specified partition '${partition}' is invalid for an EventHub partition sender or receiver. ` +
      `It should be between 0 and ${partitionCount - 1}.`,
  };
}

export function receiverStolen(
  newEpoch: number,
  oldReceiver: string,
  oldEpoch: number | undefined,
): AmqpError {
  return {
    condition: Condition.linkStolen,
    description:
      `New receiver with higher epoch of '${newEpoch}' is created hence current receiver '${oldReceiver}' ` +
      `with epoch '${oldEpoch ?? 'null'}' is getting disconnected. ` +
      `If you are recreating the receiver, make sure a higher epoch is used.`,
  };
}

export function lowerEpochRefused(
  existing: string,
  existingEpoch: number,
  newEpoch: number | undefined,
): AmqpError {
  const requested = newEpoch === undefined ? 'no epoch' : `epoch '${newEpoch}'`;
  return {
    condition: Condition.linkStolen,
    description:
      `Receiver '${existing}' with a higher epoch '${existingEpoch}' already exists. ` +
      `A new receiver with ${requested} cannot be created. ` +
      `Make sure you are creating receiver with increasing epoch value to ensure connectivity, ` +
      `or ensure all old epoch receivers are closed or disconnected.`,
  };
}

export function tooManyReceivers(receivers: string[]): AmqpError {
  return {
    condition: Condition.resourceLimitExceeded,
    description:
      `Exceeded the maximum number of allowed receivers per partition in a consumer group which is ` +
      `${MAX_NON_EPOCH_RECEIVERS}. List of connected receivers - ${receivers.join(', ')}.`,
  };
}

export function messageTooLarge(deliveryId: number, size: number, limit: number): AmqpError {
  return {
    condition: Condition.messageSizeExceeded,
    description:
      `The received message (delivery-id:${deliveryId}, size:${size} bytes) exceeds the limit ` +
      `(${limit} bytes) currently allowed on the link.`,
  };
}

export function unauthorized(description: string): AmqpError {
  return { condition: Condition.unauthorized, description };
}

/**
 * An error as it goes on the wire (DETACH, CLOSE, a rejected outcome): with an info map, empty
 * here, so the error's list has all three fields. pyamqp reads them by position
 * (azure-eventhub/azure/eventhub/_pyamqp/link.py _incoming_detach: `frame[2][2]`) and fails with
 * an IndexError, instead of reporting the condition, when info is missing.
 */
export function wireError(error: AmqpError): AmqpError & { info: Record<string, unknown> } {
  return { ...error, info: {} };
}
