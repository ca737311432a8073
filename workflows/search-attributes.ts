import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Task status: sending, waiting, completed, failed, timed-out, cancelled. */
export const STATUS = defineSearchAttributeKey('RemoteCompletionStatus', SearchAttributeType.KEYWORD);
/** Lower-case addresses of the current assignees. */
export const ASSIGNEES = defineSearchAttributeKey(
  'RemoteCompletionAssignees',
  SearchAttributeType.KEYWORD_LIST,
);

/** Names and CLI types, for `temporal server start-dev --search-attribute` and registration checks. */
export const CUSTOM_SEARCH_ATTRIBUTES = [
  { name: STATUS.name, cliType: 'Keyword', type: STATUS.type },
  { name: ASSIGNEES.name, cliType: 'KeywordList', type: ASSIGNEES.type },
] as const;
