/**
 * Prints the paths scanTree yields for argv[2] with the exclude options in argv[3] (JSON), one
 * JSON array on stdout. Run inside a mount namespace (`unshare -m`) by the --one-file-system test.
 */
import { createExclude } from '../../src/backup/exclude.js';
import { scanTree } from '../../src/backup/tree.js';

const [source, options] = [process.argv[2]!, JSON.parse(process.argv[3] ?? '{}')];
const paths: string[] = [];
for await (const { entry } of scanTree(source, await createExclude(source, options))) paths.push(entry.path);
process.stdout.write(JSON.stringify(paths));
