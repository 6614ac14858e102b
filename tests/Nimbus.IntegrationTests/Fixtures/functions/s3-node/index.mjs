// The canonical bucket pipeline with the AWS SDK for JavaScript v3 (shipped in the zip's node_modules): the client
// takes the node's endpoint from AWS_ENDPOINT_URL and path-style addressing from forcePathStyle.
import { S3Client, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";

const s3 = new S3Client({ forcePathStyle: true });

export const handler = async (event) => {
  const record = event.Records[0];
  const bucket = record.s3.bucket.name;
  const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, " "));
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await object.Body.transformToString();
  const rows = text.trim().split("\n").map((line) => line.split(","));
  const name = key.split("/").pop().replace(/\.[^.]*$/, "");
  const result = { source: key, rows: rows.length, header: rows[0], event };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `processed/${name}.json`, Body: JSON.stringify(result), ContentType: "application/json" }));
  return { rows: rows.length };
};
