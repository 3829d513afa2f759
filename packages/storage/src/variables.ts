import { z } from 'zod';
import { httpUrl, variable } from '@calltx/config';

/** The S3/MinIO settings objectStoreConfig reads. */
export const STORAGE_VARIABLES = {
  S3_ENDPOINT: variable(httpUrl, 'S3/MinIO endpoint URL, e.g. http://minio:9000.'),
  S3_REGION: variable(z.string().min(1).default('us-east-1'), 'S3 region.'),
  S3_ACCESS_KEY: variable(z.string().min(1), 'S3 access key.', { secret: true }),
  S3_SECRET_KEY: variable(z.string().min(1), 'S3 secret key.', { secret: true }),
  S3_BUCKET: variable(
    z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),
    'Bucket holding call audio and recordings.',
  ),
  S3_SSE: variable(
    z
      .string()
      .regex(/^[A-Za-z0-9:/_.+=@-]+$/, 'must be AES256, aws:kms or a KMS key id or ARN')
      .optional(),
    'Server-side encryption asked for on every upload: `AES256` (SSE-S3, keys kept by the store), `aws:kms` (SSE-KMS with the default key) or a KMS key id or ARN (SSE-KMS with that key). Unset: none asked (a bucket default still applies). MinIO needs a KMS configured for either.',
  ),
} as const;
