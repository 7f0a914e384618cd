/**
 * The host side of a sandboxed extension (SPEC §3, §10): what the sandbox needs from "pi". The headless host
 * (probe, tests) implements it now; the bridge into real pi implements the same interface later.
 *
 * Every hostcall an extension makes reaches the host as an `Operation` of the dispatcher, after validation,
 * capability derivation and policy, so a host implements behaviour only, never decisions.
 */
import type { Operation, OperationContext } from '../dispatch/index.ts';
import { forTerminal } from '../mediation/index.ts';
import { listMethods } from '../policy/index.ts';

/** Registrations by kind; the method `pi.registerTool` registers a `tool`, `pi.on` an `event`, and so on. */
export const REGISTRATION_KINDS = {
  'pi.on': 'event',
  'pi.registerTool': 'tool',
  'pi.registerCommand': 'command',
  'pi.registerShortcut': 'shortcut',
  'pi.registerFlag': 'flag',
  'pi.registerMessageRenderer': 'messageRenderer',
  'pi.registerEntryRenderer': 'entryRenderer',
  'pi.registerToolRenderer': 'toolRenderer',
  'pi.registerMarkdownTransformer': 'markdownTransformer',
  'pi.registerProvider': 'provider',
  'pi.registerMcpServer': 'mcpServer',
  'pi.registerVirtualModel': 'virtualModel',
  'pi.events.on': 'busListener',
} as const;
export type RegistrationKind = (typeof REGISTRATION_KINDS)[keyof typeof REGISTRATION_KINDS];

export interface Registration {
  readonly kind: RegistrationKind;
  /** The name it is known by: tool/command/flag name, event name, shortcut key, custom type, provider name. */
  readonly name: string;
  /** The plain-data description the extension gave (schemas, descriptions, which functions exist). */
  readonly description: Readonly<Record<string, unknown>>;
}

export interface ExtensionHost {
  /** A registration made while loading or later (tools can be registered at any time). */
  register(extensionId: string, registration: Registration): void;
  /** Every other allowed hostcall: pi actions, ctx/ui/session/model calls, and the Node shims' fs/env/exec/http/log/tool. */
  perform(method: string, params: Readonly<Record<string, unknown>>, ctx: OperationContext): unknown;
}

function registrationName(kind: RegistrationKind, params: Readonly<Record<string, unknown>>): string {
  const key =
    kind === 'event'
      ? 'event'
      : kind === 'shortcut'
        ? 'key'
        : kind === 'busListener'
          ? 'channel'
          : kind === 'messageRenderer' || kind === 'entryRenderer'
            ? 'customType'
            : kind === 'toolRenderer'
              ? 'toolName'
              : 'name';
  const value = params[key];
  return typeof value === 'string' ? value : kind;
}

/** The dispatcher's operation table for a host: one operation per method of the static table. */
export function hostOperations(host: ExtensionHost): ReadonlyMap<string, Operation> {
  const ops = new Map<string, Operation>();
  for (const spec of listMethods()) {
    const kind = (REGISTRATION_KINDS as Record<string, RegistrationKind | undefined>)[spec.method];
    if (kind !== undefined) {
      ops.set(spec.method, (params, ctx) => {
        // Descriptions are shown (command lists, --help, tool lists): without terminal control. The name is kept as
        // sent, since pi calls the extension back by it.
        host.register(ctx.extensionId, { kind, name: registrationName(kind, params), description: forTerminal(spec.method, params) });
        return null;
      });
    } else {
      ops.set(spec.method, (params, ctx) => host.perform(spec.method, params, ctx));
    }
  }
  return ops;
}
