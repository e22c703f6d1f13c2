/**
 * Every S3, SQS and Secrets Manager call live360 makes, as a hook: the real-process tests record what each
 * workload calls, and the infrastructure's IAM policies are checked against that record
 * (least privilege derived from the code, not restated beside it). Unset, it costs nothing.
 */
export interface AwsCall {
  /** The `caller` label of the client that made it (S3StorageOptions / SqsQueueOptions); tests set it. */
  caller: string | undefined;
  service: "s3" | "sqs" | "secretsmanager";
  /** The API operation, e.g. `HeadObject`, `ReceiveMessage`. */
  operation: string;
  bucket?: string;
  key?: string;
  queueUrl?: string;
  /** GetQueueUrl names its queue rather than giving its URL. */
  queueName?: string;
  secretId?: string;
}

let listener: ((call: AwsCall) => void) | undefined;

/** Sets (or clears) the one listener told of every call this process makes. */
export function onAwsCall(callback: ((call: AwsCall) => void) | undefined): void {
  listener = callback;
}

/** Smithy client middleware that reports each command to the listener before it is sent. */
export function awsCallRecorder(service: AwsCall["service"], caller: string | undefined) {
  return <Input extends object, Output extends object>(
      next: (args: { input: Input }) => Promise<Output>,
      context: { commandName?: string },
    ) =>
    (args: { input: Input }): Promise<Output> => {
      if (listener) {
        const input = args.input as { Bucket?: unknown; Key?: unknown; QueueUrl?: unknown; QueueName?: unknown; SecretId?: unknown };
        listener({
          caller,
          service,
          operation: (context.commandName ?? "unknown").replace(/Command$/, ""),
          ...(typeof input.Bucket === "string" ? { bucket: input.Bucket } : {}),
          ...(typeof input.Key === "string" ? { key: input.Key } : {}),
          ...(typeof input.QueueUrl === "string" ? { queueUrl: input.QueueUrl } : {}),
          ...(typeof input.QueueName === "string" ? { queueName: input.QueueName } : {}),
          ...(typeof input.SecretId === "string" ? { secretId: input.SecretId } : {}),
        });
      }
      return next(args);
    };
}
