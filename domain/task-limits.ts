/**
 * What one task may hold. The client checks it, and the task workflow checks it again for callers
 * that start it directly (child workflows). The description is rendered into every request and
 * reminder, and kept in the workflow's history.
 */
export const MAX_TITLE_LENGTH = 500;
export const MAX_DESCRIPTION_LENGTH = 20_000;
