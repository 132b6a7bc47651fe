export { clickhouseCheck, eventLogCheck } from "./checks.ts";
export {
  describeChange,
  HealthModel,
  type HealthModelOptions,
  publicHealth,
  worstStatus,
} from "./HealthModel.ts";
export { healthResponse, presentsApiKey } from "./http.ts";
export type * from "./types.ts";
