import type { QueueAttributeName, SQSClient, SQSClientConfig } from "@aws-sdk/client-sqs";
import { awsCallRecorder } from "../aws-calls.js";
import { once } from "../lazy.js";
import { DEFAULT_SERVICE_TIMEOUTS, sdkTimeoutConfig, type ServiceTimeouts } from "../service-timeouts.js";
import {
  MAX_DELAY_SECONDS,
  MAX_RECEIVE_BATCH,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  MAX_WAIT_TIME_SECONDS,
  QueueError,
  ReceiptHandleInvalidError,
  checkRange,
  type JobQueue,
  type QueueCounts,
  type QueueMessage,
  type ReceiveOptions,
  type SendOptions,
} from "./queue.js";

// Loaded on first use: a process that never talks to SQS never pays for the SDK.
const loadSdk = once(() => import("@aws-sdk/client-sqs"));

export interface SqsQueueOptions {
  queueUrl: string;
  /** Default: the SDK's region chain (AWS_REGION, profile), else us-east-1. */
  region?: string;
  /** An SQS-compatible server (ElasticMQ). SDK v3 speaks SQS's JSON protocol, which ElasticMQ >= 1.4 serves. */
  endpoint?: string;
  /** Default: the SDK's credential chain (environment, IRSA / pod identity, instance profile). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  timeouts?: ServiceTimeouts;
  /** Names this client in the AWS call record (aws-calls.ts), so a test tells a workload's calls from its own. */
  caller?: string;
}

/**
 * JobQueue on Amazon SQS or an SQS-compatible server. Dead-lettering is the queue's redrive
 * policy (maxReceiveCount), configured on the queue itself, not here.
 */
export class SqsQueue implements JobQueue {
  readonly name: string;
  private readonly queueUrl: string;
  private readonly clientConfig: SQSClientConfig;
  private client: SQSClient | undefined;
  /** The longest long poll: a waiting receive is an idle connection, which the idle timeout would cut. */
  private readonly maxWaitSeconds: number;

  constructor(private readonly options: SqsQueueOptions) {
    this.queueUrl = options.queueUrl;
    this.name = options.queueUrl;
    const timeouts = options.timeouts ?? DEFAULT_SERVICE_TIMEOUTS;
    this.maxWaitSeconds = Math.max(0, Math.min(MAX_WAIT_TIME_SECONDS, Math.floor(timeouts.idleMs / 1000) - 1));
    this.clientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? "us-east-1",
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...sdkTimeoutConfig(timeouts),
    };
  }

  private async sdk() {
    const sqs = await loadSdk();
    if (!this.client) {
      this.client = new sqs.SQSClient(this.clientConfig);
      this.client.middlewareStack.add(awsCallRecorder("sqs", this.options.caller), { step: "initialize", name: "live360AwsCallRecorder" });
    }
    return { sqs, client: this.client };
  }

  /** The same queue, its calls recorded as `caller`'s. */
  forCaller(caller: string): SqsQueue {
    return new SqsQueue({ ...this.options, caller });
  }

  async send(body: string, options: SendOptions = {}): Promise<{ id: string }> {
    const delay = checkRange("delaySeconds", options.delaySeconds ?? 0, 0, MAX_DELAY_SECONDS);
    const out = await this.call("send", ({ sqs, client }) =>
      client.send(new sqs.SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body, DelaySeconds: delay })),
    );
    if (out.MessageId === undefined) throw new QueueError(`send to ${this.name}: the response has no MessageId`);
    return { id: out.MessageId };
  }

  async receive(options: ReceiveOptions = {}): Promise<QueueMessage[]> {
    const max = checkRange("maxMessages", options.maxMessages ?? 1, 1, MAX_RECEIVE_BATCH);
    const wait = Math.min(checkRange("waitTimeSeconds", options.waitTimeSeconds ?? 0, 0, MAX_WAIT_TIME_SECONDS), this.maxWaitSeconds);
    const visibility =
      options.visibilityTimeoutSeconds === undefined
        ? undefined
        : checkRange("visibilityTimeoutSeconds", options.visibilityTimeoutSeconds, 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
    if (options.signal?.aborted) return [];
    try {
      const { sqs, client } = await this.sdk();
      const out = await client.send(
        new sqs.ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: wait,
          VisibilityTimeout: visibility,
          MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
        }),
        { abortSignal: options.signal },
      );
      return (out.Messages ?? []).map((message) => ({
        id: message.MessageId ?? "",
        receiptHandle: message.ReceiptHandle ?? "",
        body: message.Body ?? "",
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? "1"),
        sentAt: new Date(Number(message.Attributes?.SentTimestamp ?? "0")),
      }));
    } catch (error) {
      if (options.signal?.aborted) return [];
      throw this.describe(error, "receive");
    }
  }

  async changeVisibility(receiptHandle: string, timeoutSeconds: number): Promise<void> {
    const timeout = checkRange("timeoutSeconds", timeoutSeconds, 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
    await this.call(
      "change visibility",
      ({ sqs, client }) => client.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: timeout })),
      receiptHandle,
    );
  }

  /** SQS has nowhere to keep the reason; the caller logs it. */
  async release(receiptHandle: string, options: { reason: string; retryAfterSeconds?: number }): Promise<void> {
    await this.changeVisibility(receiptHandle, options.retryAfterSeconds ?? 0);
  }

  async delete(receiptHandle: string): Promise<void> {
    await this.call("delete", ({ sqs, client }) => client.send(new sqs.DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle })), receiptHandle);
  }

  async counts(): Promise<QueueCounts> {
    const out = await this.call("get attributes", ({ sqs, client }) =>
      client.send(
        new sqs.GetQueueAttributesCommand({
          QueueUrl: this.queueUrl,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
        }),
      ),
    );
    const count = (name: QueueAttributeName): number => Number(out.Attributes?.[name] ?? "0");
    return {
      visible: count("ApproximateNumberOfMessages"),
      inFlight: count("ApproximateNumberOfMessagesNotVisible"),
      delayed: count("ApproximateNumberOfMessagesDelayed"),
    };
  }

  /**
   * The redrive policy's target queue, as a queue with this one's endpoint, credentials and
   * timeouts: its URL is looked up by the name and account in the target's ARN.
   */
  async deadLetterQueue(): Promise<SqsQueue | undefined> {
    const out = await this.call("get attributes", ({ sqs, client }) =>
      client.send(new sqs.GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ["RedrivePolicy"] })),
    );
    const policy = out.Attributes?.RedrivePolicy;
    if (policy === undefined || policy === "") return undefined;
    let target: unknown;
    try {
      target = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
    } catch {
      throw new QueueError(`${this.name}: its RedrivePolicy is not JSON: ${policy}`);
    }
    // arn:aws:sqs:<region>:<account>:<name>
    const arn = typeof target === "string" ? /^arn:[^:]+:sqs:[^:]*:([^:]*):([^:]+)$/.exec(target) : null;
    if (!arn) throw new QueueError(`${this.name}: its RedrivePolicy names no dead-letter queue ARN: ${policy}`);
    const [, account, queueName] = arn;
    const found = await this.call("get the dead-letter queue's URL", ({ sqs, client }) =>
      client.send(new sqs.GetQueueUrlCommand({ QueueName: queueName, ...(account ? { QueueOwnerAWSAccountId: account } : {}) })),
    );
    if (!found.QueueUrl) throw new QueueError(`${this.name}: no URL for its dead-letter queue ${queueName}`);
    return new SqsQueue({ ...this.options, queueUrl: found.QueueUrl });
  }

  private async call<T>(operation: string, request: (sdk: Awaited<ReturnType<SqsQueue["sdk"]>>) => Promise<T>, receiptHandle?: string): Promise<T> {
    try {
      return await request(await this.sdk());
    } catch (error) {
      throw this.describe(error, operation, receiptHandle);
    }
  }

  private describe(error: unknown, operation: string, receiptHandle?: string): Error {
    // An SQS service error carries the SDK's `$metadata` (its class is loaded lazily).
    const code = error instanceof Error && "$metadata" in error ? error.name : "";
    if (receiptHandle !== undefined && STALE_RECEIPT_ERRORS.has(code)) {
      return new ReceiptHandleInvalidError(receiptHandle, `${code}: ${(error as Error).message}`, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new QueueError(`${operation} on ${this.name} failed: ${code ? `${code}: ` : ""}${message}`, { cause: error });
  }
}

/** The codes SQS (and ElasticMQ) use for a receipt handle that no longer names an in-flight receive. */
const STALE_RECEIPT_ERRORS = new Set(["ReceiptHandleIsInvalid", "MessageNotInflight"]);
