// Looking up the hub, partition and consumer group a link or request names, with the service's
// error for whichever does not exist. Names are case-insensitive, as in Azure.
import { type AmqpError, consumerGroupNotFound, entityNotFound, partitionOutOfRange } from './errors';
import { type EventStore, type Hub } from './store/eventStore';
import { type Partition } from './store/partition';

export function findHub(store: EventStore, host: string, name: string): Hub | AmqpError {
  return store.hub(name) ?? entityNotFound(host, name);
}

export function findPartition(hub: Hub, partitionId: string): Partition | AmqpError {
  return (
    hub.partitions.find((partition) => partition.id === partitionId) ??
    partitionOutOfRange(partitionId, hub.partitions.length)
  );
}

/** The consumer group's configured spelling. */
export function findConsumerGroup(hub: Hub, namespace: string, name: string): string | AmqpError {
  return (
    hub.config.consumerGroups.find((group) => group.toLowerCase() === name.toLowerCase()) ??
    consumerGroupNotFound(namespace, hub.config.name, name)
  );
}

export function isError<T>(value: T | AmqpError): value is AmqpError {
  return typeof value === 'object' && value !== null && 'condition' in value && 'description' in value;
}
