export { createDispatcher, type Dispatcher, type DispatcherOptions, type Operation, type OperationContext } from './dispatcher.ts';
export { type DispatchContext, type Hostcall, type HostcallResult } from './hostcall.ts';
export { MemoryRecorder, combineRecorders } from './record.ts';
export { STAGE_ORDER, type Stage, type StageName, type StageOutcome } from './stage.ts';
export { createPromptBroker, type PromptBroker, type Prompter, type PromptRequest } from './prompts.ts';
export { decideHostcall, type HostcallDecision } from './decide.ts';
