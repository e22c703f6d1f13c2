import { CoreV1Api, StorageV1Api, type KubeConfig, type V1PersistentVolumeClaim } from "@kubernetes/client-node";

/** The provisioner name the test StorageClass names, as a CSI driver's would be (ebs.csi.aws.com). */
export const TEST_VOLUME_PROVISIONER = "volumes.live360.test";
/** The default StorageClass of the local control plane. */
export const TEST_STORAGE_CLASS = "standard";

export interface VolumeProvisioner {
  /** Claims a volume was made for, as `<namespace>/<name>`. */
  readonly provisioned: readonly string[];
  stop(): Promise<void>;
}

/**
 * What a CSI driver's external-provisioner does, for the local control plane whose kwok nodes run
 * nothing and have no disks (on EKS this is the EBS CSI driver, an AWS API): a default
 * StorageClass, and for each claim of it a PersistentVolume made for that claim. Everything else
 * is the real control plane's: the default-class admission, the PV controller's binding, the
 * scheduler waiting for bound claims. Pods with claims therefore start only once their volumes
 * exist, as on a real cluster.
 */
export async function startVolumeProvisioner(kubeConfig: KubeConfig, options: { intervalMs?: number } = {}): Promise<VolumeProvisioner> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const storage = kubeConfig.makeApiClient(StorageV1Api);
  try {
    await storage.createStorageClass({
      body: {
        metadata: { name: TEST_STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
        provisioner: TEST_VOLUME_PROVISIONER,
        reclaimPolicy: "Delete",
        volumeBindingMode: "Immediate",
      },
    });
  } catch (error) {
    // A second provisioner on the same cluster (a restarted test) finds it made.
    if ((error as { code?: number }).code !== 409) throw error;
  }
  const provisioned: string[] = [];
  const made = new Set<string>();
  const stopping = new AbortController();

  const provision = async (claim: V1PersistentVolumeClaim): Promise<void> => {
    const uid = claim.metadata?.uid ?? "";
    const { name, namespace } = claim.metadata ?? {};
    await core.createPersistentVolume({
      body: {
        metadata: { name: `pvc-${uid}`, annotations: { "pv.kubernetes.io/provisioned-by": TEST_VOLUME_PROVISIONER } },
        spec: {
          capacity: { storage: claim.spec?.resources?.requests?.storage ?? "1Gi" },
          accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
          storageClassName: TEST_STORAGE_CLASS,
          // Never mounted (kwok runs no containers); kept after release so a test can inspect it.
          persistentVolumeReclaimPolicy: "Retain",
          hostPath: { path: `/var/lib/live360-test-volumes/pvc-${uid}` },
          claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid },
        },
      },
    });
    made.add(uid);
    provisioned.push(`${namespace}/${name}`);
  };

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        const claims = await core.listPersistentVolumeClaimForAllNamespaces();
        for (const claim of claims.items) {
          const pending = claim.status?.phase === "Pending" && !claim.spec?.volumeName;
          if (pending && claim.spec?.storageClassName === TEST_STORAGE_CLASS && !made.has(claim.metadata?.uid ?? "")) await provision(claim);
        }
      } catch {
        // The next round retries: a provisioner outlives API hiccups.
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
    }
  })();

  return {
    provisioned,
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
