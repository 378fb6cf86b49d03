import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONTRACT_DOCUMENTS, renderContractDocument } from '../src/index.js';

for (const document of CONTRACT_DOCUMENTS) {
  const target = fileURLToPath(new URL(`../../../${document.file}`, import.meta.url));
  writeFileSync(target, renderContractDocument(document.build()));
  console.log(`wrote ${target}`);
}
