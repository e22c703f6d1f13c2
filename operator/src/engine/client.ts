import {
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";

/** Every write the operator makes is attributed to this field manager (server-side apply, managedFields). */
export const FIELD_MANAGER = "live360-operator";

/** What a reconciler reads: an informer's cache (or several, one per watched namespace). */
export interface Cache<T> {
  get(key: string): T | undefined;
  list(): T[];
}

/** A custom resource's coordinates, for the status subresource and metadata patches. */
export interface CustomResourceRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

/**
 * The writes a controller makes, kept to this narrow set so every one of them is easy to count
 * and to reason about: server-side apply of desired objects, deletes of pruned ones, optimistic
 * metadata patches (finalizers) and server-side apply of status.
 */
export interface ObjectWriter {
  /** Server-side apply with the operator's field manager, taking ownership of conflicting fields. */
  apply<T extends KubernetesObject>(object: T): Promise<T>;
  /**
   * Creates the object unless one of its kind and name exists; an existing one is left exactly as
   * it is (a generated secret must never be replaced). True when it was created now. A read, not
   * a write, when it exists.
   */
  createIfAbsent(object: KubernetesObject): Promise<boolean>;
  /** Deletes in the background: dependents are garbage-collected after the object is gone. */
  delete(object: KubernetesObject): Promise<void>;
  /** A JSON merge patch of metadata that fails (409) when the object changed since `resourceVersion`. */
  patchMetadata(ref: CustomResourceRef, metadata: Record<string, unknown>, resourceVersion: string): Promise<void>;
  /** Server-side apply of the status subresource: fields the operator stops setting are removed. */
  applyStatus(ref: CustomResourceRef, apiVersion: string, kind: string, status: unknown): Promise<void>;
}

/** The HTTP status of a client-node error (ApiException.code), if it carries one. */
export function statusCodeOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown } | null;
  const code = e?.code ?? e?.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** The API server's own explanation from a failed request (Status.message), else the error's message. */
export function apiMessageOf(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      // Not a Status object: fall through to the error's message.
    }
  }
  return error instanceof Error ? error.message : String(error);
}

/** Every API request but watches (informer.ts bounds those) gives up after this. */
export const DEFAULT_API_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Bounds every request the generated API clients make with `kubeConfig` (applies, deletes,
 * status, events, leases, lists): an API server behind a dropped route would otherwise keep a
 * reconcile or a lease renewal waiting forever, and a renewal given up on must not land later.
 * client-node calls applySecurityAuthentication on each request context, so that is where the
 * deadline goes; watches take another path and keep theirs.
 */
export function withRequestTimeout(kubeConfig: KubeConfig, timeoutMs = DEFAULT_API_REQUEST_TIMEOUT_MS): KubeConfig {
  const authenticate = kubeConfig.applySecurityAuthentication.bind(kubeConfig);
  kubeConfig.applySecurityAuthentication = async (context) => {
    await authenticate(context);
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(timeoutMs));
  };
  return kubeConfig;
}

export function apiObjectWriter(kubeConfig: KubeConfig): ObjectWriter {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    apply: (object) => objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
    async createIfAbsent(object) {
      try {
        await objects.read({ apiVersion: object.apiVersion ?? "", kind: object.kind ?? "", metadata: { name: object.metadata?.name ?? "", namespace: object.metadata?.namespace ?? "" } });
        return false;
      } catch (error) {
        if (statusCodeOf(error) !== 404) throw error;
      }
      try {
        await objects.create(object, undefined, undefined, FIELD_MANAGER);
        return true;
      } catch (error) {
        // Made by another reconcile (a replica that just lost the lease) in between: keep that one.
        if (statusCodeOf(error) === 409) return false;
        throw error;
      }
    },
    async delete(object) {
      try {
        await objects.delete(object, undefined, undefined, undefined, undefined, "Background");
      } catch (error) {
        // Already gone is what a delete wants.
        if (statusCodeOf(error) !== 404) throw error;
      }
    },
    async patchMetadata(ref, metadata, resourceVersion) {
      await custom.patchNamespacedCustomObject(
        { ...ref, body: { metadata: { ...metadata, resourceVersion } }, fieldManager: FIELD_MANAGER },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    },
    async applyStatus(ref, apiVersion, kind, status) {
      await custom.patchNamespacedCustomObjectStatus(
        {
          ...ref,
          body: { apiVersion, kind, metadata: { name: ref.name, namespace: ref.namespace }, status },
          fieldManager: FIELD_MANAGER,
          force: true,
        },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      );
    },
  };
}
