import {
  CloudControlClient,
  GetResourceRequestStatusCommand,
  type ProgressEvent,
} from '@aws-sdk/client-cloudcontrol';

/** Fake static credentials: the emulator reads the region from the signature and verifies nothing else. */
export const emulatorCredentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

/** The real SDK client pointed at an emulator; maxAttempts 1 unless retries are wanted. */
export function emulatorClient(endpoint: string, region = 'us-east-1', maxAttempts = 1): CloudControlClient {
  return new CloudControlClient({ endpoint, region, credentials: emulatorCredentials, maxAttempts });
}

/**
 * Polls GetResourceRequestStatus until the request is SUCCESS, FAILED or CANCEL_COMPLETE. The SDK's own
 * waiter polls no faster than every 5 s, too slow for tests against an emulator that finishes in milliseconds.
 */
export async function awaitRequest(
  client: CloudControlClient,
  requestToken: string,
  { intervalMs = 10, timeoutMs = 10000 } = {},
): Promise<ProgressEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { ProgressEvent: event } = await client.send(
      new GetResourceRequestStatusCommand({ RequestToken: requestToken }),
    );
    const status = event?.OperationStatus;
    if (status === 'SUCCESS' || status === 'FAILED' || status === 'CANCEL_COMPLETE') return event!;
    if (Date.now() > deadline)
      throw new Error(`request ${requestToken} still ${status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
