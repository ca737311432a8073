import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Logger } from 'pino';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Names of the project's search attributes the namespace lacks. */
export async function missingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return CUSTOM_SEARCH_ATTRIBUTES.filter((a) => !customAttributes?.[a.name]).map((a) => a.name);
}

export function createSearchAttributeCommand(namespace: string, name: string): string {
  const attribute = CUSTOM_SEARCH_ATTRIBUTES.find((a) => a.name === name)!;
  return `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${attribute.cliType}`;
}

/** Registers missing search attributes; where the server refuses, says which command to run. */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  log: Logger,
): Promise<void> {
  const missing = await missingSearchAttributes(connection, namespace);
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((name) => [
          name,
          INDEXED_TYPE[CUSTOM_SEARCH_ATTRIBUTES.find((a) => a.name === name)!.cliType]!,
        ]),
      ),
    });
    log.info({ registered: missing }, 'registered search attributes');
  } catch (err) {
    const commands = missing.map((name) => createSearchAttributeCommand(namespace, name)).join(' && ');
    throw new Error(
      `search attributes ${missing.join(', ')} are missing and could not be registered (${(err as Error).message.split('\n')[0]}); run: ${commands}`,
      { cause: err },
    );
  }
}
