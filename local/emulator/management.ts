// $management READ requests: hub and partition properties, with the AMQP types the SDKs expect
// (longs, timestamps, string offsets, a string array of partition ids).
import { types } from 'rhea';
import { type ConnectionGrants, type StatusResponse } from './cbs';
import { findHub, findPartition, isError } from './entities';
import { Condition } from './errors';
import { pathCovers, resourcePath, type SasKey, validateSasToken } from './sas';
import { type EventStore } from './store/eventStore';

export const HUB_TYPE = 'com.microsoft:eventhub';
export const PARTITION_TYPE = 'com.microsoft:partition';

export interface ManagementRequest {
  operation: unknown;
  name: unknown;
  type: unknown;
  partition: unknown;
  securityToken: unknown;
}

export interface ManagementResponse extends StatusResponse {
  body?: unknown;
}

export function handleManagementRequest(
  request: ManagementRequest,
  store: EventStore,
  keys: SasKey[],
  grants: ConnectionGrants,
  host: string,
): ManagementResponse {
  if (request.operation !== 'READ') {
    return {
      statusCode: 501,
      condition: Condition.notImplemented,
      description: `The management operation '${String(request.operation)}' is not supported by the emulator; only READ is.`,
    };
  }
  if (typeof request.name !== 'string') {
    return {
      statusCode: 400,
      condition: Condition.argumentError,
      description: 'The request has no entity name.',
    };
  }
  const denied = authorize(request.name, request.securityToken, keys, grants);
  if (denied) return denied;
  const hub = findHub(store, host, request.name);
  if (isError(hub)) return { statusCode: 404, ...hub };
  if (request.type === HUB_TYPE) {
    return {
      statusCode: 200,
      description: 'OK',
      body: types.wrap_map({
        name: hub.config.name,
        type: HUB_TYPE,
        created_at: types.wrap_timestamp(hub.createdAtMs),
        partition_count: types.wrap_int(hub.partitions.length),
        partition_ids: types.wrap_array(
          hub.partitions.map((partition) => partition.id),
          0xb1,
          undefined,
        ),
      }),
    };
  }
  if (request.type === PARTITION_TYPE) {
    const partition = findPartition(hub, String(request.partition));
    if (isError(partition)) return { statusCode: 400, ...partition };
    const log = partition.log;
    const everWritten = log.nextSequenceNumber > 0;
    return {
      statusCode: 200,
      description: 'OK',
      body: types.wrap_map({
        name: hub.config.name,
        type: PARTITION_TYPE,
        partition: partition.id,
        begin_sequence_number: types.wrap_long(log.firstSequenceNumber),
        last_enqueued_sequence_number: types.wrap_long(log.nextSequenceNumber - 1),
        last_enqueued_offset: everWritten ? String(log.lastOffset) : '-1',
        last_enqueued_time_utc: types.wrap_timestamp(everWritten ? log.lastEnqueuedTimeMs : 0),
        is_partition_empty: types.wrap_boolean(log.isEmpty),
      }),
    };
  }
  return {
    statusCode: 400,
    condition: Condition.argumentError,
    description: `Unknown entity type '${String(request.type)}'; expected '${HUB_TYPE}' or '${PARTITION_TYPE}'.`,
  };
}

/** Requests carry a SAS token; without one, the connection must hold a token for the hub. */
function authorize(
  hub: string,
  securityToken: unknown,
  keys: SasKey[],
  grants: ConnectionGrants,
): ManagementResponse | undefined {
  const hubPath = resourcePath(hub);
  const managementPath = `${hubPath}/$management`;
  if (typeof securityToken === 'string' && securityToken.length > 0) {
    const result = validateSasToken(securityToken, keys);
    if (!result.ok) return { statusCode: 401, condition: Condition.unauthorized, description: result.reason };
    if (pathCovers(result.resourcePath, managementPath)) return undefined;
    return {
      statusCode: 401,
      condition: Condition.unauthorized,
      description: `The security token does not grant access to '${hub}'.`,
    };
  }
  if (grants.covers(managementPath) || grants.covers(hubPath)) return undefined;
  return {
    statusCode: 401,
    condition: Condition.unauthorized,
    description: `Unauthorized access. 'Manage' or 'Listen' claim(s) are required to read '${hub}'. Put a token on $cbs first.`,
  };
}
