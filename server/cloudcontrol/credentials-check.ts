import type { CloudControlClient } from '@aws-sdk/client-cloudcontrol';

/** How long an answer is kept: a probe every few seconds must not resolve the chain (maybe STS, SSO) each time. */
const KEPT_MS = 10_000;

/**
 * Whether the SDK client's credential provider chain resolves, as /readyz asks: undefined when it does, else a
 * reason that names the error's class only (a provider's message may quote a profile's or a process's output).
 * Answers are kept for KEPT_MS; concurrent probes share one resolution.
 */
export function credentialsCheck(client: () => CloudControlClient): () => Promise<string | undefined> {
  let kept: { at: number; answer: Promise<string | undefined> } | undefined;
  return () => {
    if (!kept || performance.now() - kept.at > KEPT_MS)
      kept = {
        at: performance.now(),
        answer: client()
          .config.credentials()
          .then(
            () => undefined,
            (err: unknown) =>
              `AWS credentials cannot be resolved (${(err as Error).name || 'error'}): give them as the AWS SDK ` +
              'looks for them (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, an instance role), or run with --demo',
          ),
      };
    return kept.answer;
  };
}
