export { clickhouseCheck, eventLogCheck } from "./checks.ts";
export {
  describeChange,
  HealthModel,
  type HealthModelOptions,
  publicHealth,
  worstStatus,
} from "./health-model.ts";
export { healthResponse, presentsApiKey } from "./http.ts";
export type * from "./types.ts";
