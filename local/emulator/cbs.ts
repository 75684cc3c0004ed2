// Claims-based security ($cbs): clients put a token for an audience before attaching links to it,
// and again before it expires. The emulator accepts SAS tokens signed with a configured key and
// refuses JWTs (Microsoft Entra ID), which only Azure can validate. Tokens are recognised by their
// content, whatever type the request declares.
import { Condition } from './errors';
import { pathCovers, resourcePath, type SasKey, validateSasToken } from './sas';

export const SAS_TOKEN_TYPE = 'servicebus.windows.net:sastoken';
const SAS_PREFIX = 'SharedAccessSignature ';
/** header.payload.signature in base64url: what a JWT looks like. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

export interface StatusResponse {
  statusCode: number;
  description: string;
  condition?: string;
}

/** The audiences a connection holds valid tokens for. */
export class ConnectionGrants {
  private readonly grants = new Map<string, number>();

  grant(audiencePath: string, expiresAtMs: number): void {
    this.grants.set(audiencePath, Math.max(expiresAtMs, this.grants.get(audiencePath) ?? 0));
  }

  /** True if a token that has not expired covers the entity path. */
  covers(entityPath: string, nowMs = Date.now()): boolean {
    for (const [audience, expiresAtMs] of this.grants) {
      if (expiresAtMs > nowMs && pathCovers(audience, entityPath)) return true;
    }
    return false;
  }
}

export interface PutTokenRequest {
  operation: unknown;
  audience: unknown;
  tokenType: unknown;
  token: unknown;
}

export function handlePutToken(
  request: PutTokenRequest,
  keys: SasKey[],
  grants: ConnectionGrants,
): StatusResponse {
  if (request.operation !== 'put-token') {
    return {
      statusCode: 400,
      condition: Condition.notImplemented,
      description: `The $cbs operation '${String(request.operation)}' is not supported; use 'put-token'.`,
    };
  }
  if (typeof request.audience !== 'string' || typeof request.token !== 'string') {
    return {
      statusCode: 400,
      condition: Condition.argumentError,
      description: 'A put-token request needs a string audience (name) and a string token (body).',
    };
  }
  // A token is judged by what it is, not by its declared type: pyamqp puts SAS tokens with type
  // "jwt" (azure-eventhub/azure/eventhub/_pyamqp/authentication.py, JWTTokenAuth's default
  // token_type, used by _transport/_pyamqp_transport.py create_token_auth on refresh) and Azure
  // accepts them.
  if (!request.token.startsWith(SAS_PREFIX)) {
    if (request.tokenType === 'jwt' || JWT_SHAPE.test(request.token)) {
      return {
        statusCode: 401,
        condition: Condition.unauthorized,
        description:
          'The Event Hubs emulator does not accept JWT (Microsoft Entra ID) tokens: only Azure can validate them. ' +
          'Connect with a connection string (SharedAccessKeyName/SharedAccessKey) locally, ' +
          'and use managed identity against Azure.',
      };
    }
    return {
      statusCode: 400,
      condition: Condition.argumentError,
      description: `Unsupported token (type '${String(request.tokenType)}'): expected a SharedAccessSignature token ('${SAS_TOKEN_TYPE}').`,
    };
  }
  const result = validateSasToken(request.token, keys);
  if (!result.ok) {
    return { statusCode: 401, condition: Condition.unauthorized, description: result.reason };
  }
  const audiencePath = resourcePath(request.audience);
  if (!pathCovers(result.resourcePath, audiencePath)) {
    return {
      statusCode: 401,
      condition: Condition.unauthorized,
      description:
        `InvalidAudience: The token's resource '${result.resourcePath || '/'}' does not grant access to ` +
        `'${request.audience}'.`,
    };
  }
  grants.grant(audiencePath, result.expiresAtMs);
  return { statusCode: 202, description: 'Accepted' };
}
