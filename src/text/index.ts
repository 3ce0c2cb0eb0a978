export { DEFAULT_LAST_NAME, customUserIdFromEmail, deriveVariables, formatDuration, splitName } from './derived';
export { compileTextTemplate, templateVariables, textToHtml } from './template';
export type { TextTemplate } from './template';
