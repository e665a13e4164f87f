/**
 * The fleet half of the spec on OpenStack Placement: a small client, the host's trait report, and the
 * scheduler's query by the instance's required traits.
 *
 * @module
 */

export type {
  ProviderSummary,
  ProviderTraits,
  ResourceProvider,
  ResourceUsage,
} from './answers.js';
export {
  type Candidate,
  type CandidateAnswer,
  type CandidateOptions,
  candidateProviders,
  type LeftOut,
  type LeftOutReason,
} from './candidates.js';
export {
  type Inventory,
  type PlacementCallOptions,
  PlacementClient,
  type PlacementClientOptions,
  type PlacementRequest,
  type PlacementResponse,
  type PlacementToken,
} from './client.js';
export {
  CLIENT_MAX_MICROVERSION,
  type NegotiatedVersion,
  PLACEMENT_FEATURES,
  type PlacementFeature,
} from './microversions.js';
export { type ReportHostTraitsOptions, reportHostTraits, type TraitReport } from './report-traits.js';
export {
  type FlavorSizes,
  type SchedulingRequest,
  type SchedulingRequestOptions,
  schedulingRequest,
} from './scheduling-request.js';
