import { customResourceDefinition } from "../crd.js";
import { API_VERSION, GROUP, VERSION } from "./common.js";
import { LIVE_EVENT, MAX_LIVE_EVENT_NAME_LENGTH, liveEventSpec, liveEventStatus } from "./liveevent.js";
import { MAX_VOD_JOB_NAME_LENGTH, VOD_JOB, vodJobSpec, vodJobStatus } from "./vodjob.js";

export * from "./common.js";
export * from "./ladder.js";
export * from "./liveevent.js";
export * from "./vodjob.js";

const CATEGORIES = ["live360"];

export const liveEventCrd = customResourceDefinition({
  group: GROUP,
  version: VERSION,
  names: LIVE_EVENT,
  categories: CATEGORIES,
  description: `A live 360° event: primary and backup origins (RTMP ingest, ABR HLS), an autoscaling edge cache, recording to the VOD pipeline and an optional test source, reconciled by the live360 operator. apiVersion ${API_VERSION}.`,
  spec: liveEventSpec,
  status: liveEventStatus,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Pending, Ready, Live, Degraded or Ended." },
    { name: "Active origin", type: "string", jsonPath: ".status.activeOrigin", description: "The origin the edge serves from." },
    { name: "Ingest", type: "string", jsonPath: ".status.ingest.primary", description: "RTMP URL of the primary origin." },
    { name: "Playback", type: "string", jsonPath: ".status.playback.masterPlaylistUrl", description: "HLS master playlist through the edge." },
    { name: "Stream", type: "string", jsonPath: ".spec.streamName", description: "The stream's name.", priority: 1 },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since the event was created." },
  ],
  rules: [
    {
      rule: `self.metadata.name.size() <= ${MAX_LIVE_EVENT_NAME_LENGTH} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')`,
      message: `a LiveEvent's name becomes part of its Service names: use at most ${MAX_LIVE_EVENT_NAME_LENGTH} lowercase letters, digits and '-', starting with a letter`,
    },
  ],
});

export const vodJobCrd = customResourceDefinition({
  group: GROUP,
  version: VERSION,
  names: VOD_JOB,
  categories: CATEGORIES,
  description: `A VOD transcode: one recording turned into an on-demand ABR HLS asset by a Job running the live360 VOD worker, retried across Spot interruptions. apiVersion ${API_VERSION}.`,
  spec: vodJobSpec,
  status: vodJobStatus,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Pending, Running, Succeeded or Failed." },
    { name: "Progress", type: "integer", jsonPath: ".status.progress", description: "Percent of the source transcoded." },
    { name: "Source", type: "string", jsonPath: ".spec.source", description: "The recording being transcoded." },
    { name: "Attempts", type: "integer", jsonPath: ".status.attempts", description: "Attempts started so far.", priority: 1 },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since the job was created." },
  ],
  rules: [
    {
      rule: `self.metadata.name.size() <= ${MAX_VOD_JOB_NAME_LENGTH} && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')`,
      message: `a VodJob's name is also its worker Job's name and label: use at most ${MAX_VOD_JOB_NAME_LENGTH} lowercase letters, digits and '-'`,
    },
  ],
});

/** Every CRD the operator serves, with the file it is generated into under crds/. */
export const CRDS = [liveEventCrd, vodJobCrd].map((crd) => ({
  crd,
  file: `${GROUP}_${crd.spec.names.plural}.yaml`,
}));
