/** Sandboxed TUI components in pi (issue 23): the face of src/pi/components. */
export { ExtensionComponents, FACTORY_MEMBERS } from './extensionComponents.ts';
export { SandboxedComponent, type ComponentKind } from './component.ts';
export { themeData, type ThemeData } from './theme.ts';
export { fitLine } from './tuiText.ts';
