import type { Logger } from '../../logger.js';
import type { KafkaApiHandler } from './handler.js';
import type { ApiVersionsRequest, ApiVersionsResponseInput } from './generated/index.js';

export const API_VERSIONS_KEY = 18;
export const API_VERSIONS_MIN = 0;
export const API_VERSIONS_MAX = 3;
const UNSUPPORTED_VERSION = 35;
const INVALID_REQUEST = 42;

export interface ApiRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** KIP-511: what a broker accepts as ClientSoftwareName/Version (letters, digits, '-' and '.', alphanumeric at both ends). */
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

/** The body every version starts with; v1+ add throttle time, v3 the (here empty) feature tags. */
export function apiVersionsBody(errorCode: number, ranges: readonly ApiRange[]): ApiVersionsResponseInput {
  return {
    errorCode,
    apiKeys: ranges.map((r) => ({ apiKey: r.apiKey, minVersion: r.minVersion, maxVersion: r.maxVersion })),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}

/**
 * ApiVersions 0–3. `ranges` is read on every request so the answer is always the handler table the
 * server dispatches with (each handler's [min, max], sorted by key).
 */
export function createApiVersionsHandler(ranges: () => readonly ApiRange[], logger: Logger): KafkaApiHandler<ApiVersionsRequest, ApiVersionsResponseInput> {
  return {
    apiKey: API_VERSIONS_KEY,
    minVersion: API_VERSIONS_MIN,
    maxVersion: API_VERSIONS_MAX,
    handle(req, rc) {
      if (rc.apiVersion >= 3) {
        const name = req.clientSoftwareName ?? '';
        const version = req.clientSoftwareVersion ?? '';
        if (!SOFTWARE_PATTERN.test(name) || !SOFTWARE_PATTERN.test(version)) {
          return apiVersionsBody(INVALID_REQUEST, []);
        }
        logger.debug('client software', { conn: rc.conn.id, clientId: rc.clientId, name, version });
      }
      return apiVersionsBody(0, ranges());
    },
  };
}

/** Answer to an ApiVersions version we do not know: error 35 in the v0 layout, which every client can read, with our ranges. */
export function unsupportedApiVersionsBody(ranges: readonly ApiRange[]): ApiVersionsResponseInput {
  return apiVersionsBody(UNSUPPORTED_VERSION, ranges);
}
