// The script of the mailbox sync's worker threads (see classify-message.ts).
import { classifyMessage } from './classify-message';
import { serveThreadJob } from './thread-job';

serveThreadJob(classifyMessage);
