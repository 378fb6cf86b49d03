import { defineConfigSection, defineOptionalVariable, defineVariable, parsers } from '@chatmesh/config';
import { z } from 'zod';

const MIB = 1024 * 1024;

/** Attachment settings, under `config.sections.attachments` (read by the gateway and by ingest). */
export const ATTACHMENT_CONFIG = defineConfigSection({
  description:
    'attachments: where the bytes live (S3 API or a local folder), upload limits, URL lifetimes and the orphan sweeper (gateway and ingest)',
  variables: {
    store: defineVariable({
      env: 'CHATMESH_ATTACHMENT_STORE',
      description:
        '`s3`: an S3-compatible store (S3_* variables); clients upload and download straight to it. `local`: files in CHATMESH_ATTACHMENT_DIR served by the gateway with HMAC-signed URLs (embedded mode, one machine). `auto`: `s3` when S3_ENDPOINT or S3_ACCESS_KEY_ID is set, else `local`.',
      schema: parsers.oneOf(['auto', 'local', 's3']),
      noun: 'store',
      expected: 'one of auto, local, s3',
      default: 'auto' as 'auto' | 'local' | 's3',
    }),
    dir: defineVariable({
      env: 'CHATMESH_ATTACHMENT_DIR',
      description: 'Folder of the `local` store (created if missing).',
      schema: parsers.path(),
      noun: 'path',
      expected: 'a directory path',
      default: '/tmp/chatmesh-attachments',
    }),
    urlSecret: defineOptionalVariable({
      env: 'CHATMESH_ATTACHMENT_URL_SECRET',
      description:
        "HMAC key of the `local` store's blob URLs. Unset: a random key per process (URLs die with the process; fine for embedded mode, where one process signs and serves).",
      schema: z.string().min(32).max(4096),
      noun: 'secret',
      expected: 'at least 32 characters',
      secret: true,
    }),
    s3Endpoint: defineOptionalVariable({
      env: 'S3_ENDPOINT',
      description:
        'S3 API endpoint, e.g. `http://127.0.0.1:17070` (versitygw of `npm run infra`); unset means AWS S3 of S3_REGION. Must be reachable by clients too: presigned URLs point at it.',
      schema: parsers.url(['http', 'https']),
      noun: 'URL',
      expected: 'an http(s) URL',
    }),
    s3Region: defineVariable({
      env: 'S3_REGION',
      description: 'Region the requests are signed for.',
      schema: z.string().regex(/^[a-z0-9-]{1,64}$/),
      noun: 'region',
      expected: 'a region name such as us-east-1',
      default: 'us-east-1',
    }),
    s3Bucket: defineVariable({
      env: 'S3_BUCKET',
      description: 'Bucket of the attachments.',
      schema: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
      noun: 'bucket',
      expected: 'an S3 bucket name (3-63 of a-z 0-9 . -)',
      default: 'chatmesh-attachments',
    }),
    s3AccessKeyId: defineOptionalVariable({
      env: 'S3_ACCESS_KEY_ID',
      description: 'Access key of the `s3` store.',
      schema: z.string().min(1).max(256),
      noun: 'key',
      expected: 'an access key id',
    }),
    s3SecretAccessKey: defineOptionalVariable({
      env: 'S3_SECRET_ACCESS_KEY',
      description: 'Secret key of the `s3` store.',
      schema: z.string().min(1).max(256),
      noun: 'secret',
      expected: 'a secret access key',
      secret: true,
    }),
    s3CreateBucket: defineVariable({
      env: 'S3_CREATE_BUCKET',
      description:
        'Create the bucket at start when it is missing (local servers, tests). Production buckets are made by their owners.',
      schema: parsers.oneOf(['true', 'false']),
      noun: 'flag',
      expected: 'true or false',
      default: 'true' as 'true' | 'false',
    }),
    urlTtlSeconds: defineVariable({
      env: 'CHATMESH_ATTACHMENT_URL_TTL_SECONDS',
      description: 'Lifetime of presigned upload and download URLs.',
      schema: parsers.integer(10, 3600),
      noun: 'duration',
      expected: 'an integer number of seconds, 10-3600',
      default: 300,
    }),
    maxImageBytes: defineVariable({
      env: 'CHATMESH_ATTACHMENT_MAX_IMAGE_BYTES',
      description: 'Largest `image/*` upload.',
      schema: parsers.integer(1, 5 * 1024 * MIB),
      noun: 'size',
      expected: 'an integer number of bytes',
      default: 16 * MIB,
    }),
    maxVideoBytes: defineVariable({
      env: 'CHATMESH_ATTACHMENT_MAX_VIDEO_BYTES',
      description: 'Largest `video/*` upload.',
      schema: parsers.integer(1, 5 * 1024 * MIB),
      noun: 'size',
      expected: 'an integer number of bytes',
      default: 100 * MIB,
    }),
    maxAudioBytes: defineVariable({
      env: 'CHATMESH_ATTACHMENT_MAX_AUDIO_BYTES',
      description: 'Largest `audio/*` upload.',
      schema: parsers.integer(1, 5 * 1024 * MIB),
      noun: 'size',
      expected: 'an integer number of bytes',
      default: 16 * MIB,
    }),
    maxFileBytes: defineVariable({
      env: 'CHATMESH_ATTACHMENT_MAX_FILE_BYTES',
      description: 'Largest upload of any other allowed type (documents, archives).',
      schema: parsers.integer(1, 5 * 1024 * MIB),
      noun: 'size',
      expected: 'an integer number of bytes',
      default: 100 * MIB,
    }),
    allowedTypes: defineVariable({
      env: 'CHATMESH_ATTACHMENT_ALLOWED_TYPES',
      description:
        'Content types that may be uploaded, comma-separated; `family/*` allows a whole family. End-to-end-encrypted clients upload `application/octet-stream`.',
      schema: z
        .string()
        .transform((value) => value.split(',').map((item) => item.trim().toLowerCase()))
        .pipe(z.array(z.string().regex(/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+|\*)$/)).min(1)),
      noun: 'type list',
      expected: 'a comma-separated list of type/subtype or type/*',
      default: [
        'image/*',
        'video/*',
        'audio/*',
        'application/pdf',
        'application/zip',
        'application/octet-stream',
        'text/plain',
      ] as readonly string[],
    }),
    uploadsPerMinute: defineVariable({
      env: 'CHATMESH_ATTACHMENT_UPLOADS_PER_MINUTE',
      description:
        'Sustained upload requests per minute one user may make (shared through Redis in stack mode); the burst is a quarter of it, at least 1.',
      schema: parsers.integer(1, 100_000),
      noun: 'rate',
      expected: 'an integer 1-100000',
      default: 60,
    }),
    orphanTtlMs: defineVariable({
      env: 'CHATMESH_ATTACHMENT_ORPHAN_TTL_MS',
      description: 'An upload no message refers to is removed (bytes and metadata) once it is this old.',
      schema: parsers.integer(60_000, 30 * 86_400_000),
      noun: 'duration',
      expected: 'an integer number of milliseconds, 60000-2592000000',
      default: 86_400_000,
    }),
    claimWindowMs: defineVariable({
      env: 'CHATMESH_ATTACHMENT_CLAIM_WINDOW_MS',
      description:
        'How long after its upload request an attachment may be referenced for the first time; must be below the orphan TTL (the gap keeps a send and the sweeper from racing).',
      schema: parsers.integer(10_000, 30 * 86_400_000),
      noun: 'duration',
      expected: 'an integer number of milliseconds below CHATMESH_ATTACHMENT_ORPHAN_TTL_MS',
      default: 82_800_000,
    }),
    sweepIntervalMs: defineVariable({
      env: 'CHATMESH_ATTACHMENT_SWEEP_INTERVAL_MS',
      description: 'How often the gateway looks for orphans to remove; 0 turns the sweeper off on this instance.',
      schema: parsers.integer(0, 86_400_000),
      noun: 'duration',
      expected: 'an integer number of milliseconds, 0-86400000',
      default: 600_000,
    }),
  },
});
