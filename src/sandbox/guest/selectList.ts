/**
 * GUEST CODE. pi-tui's `SelectList` (components/select-list.js, pi-tui 0.x/1.x): the same lines for the same items,
 * width and theme (selection marker, two columns when there are descriptions, the window centred on the selection,
 * the `(n/m)` scroll line), and the same keys with pi's default bindings. Mouse events never reach a sandboxed
 * component, so `handleMouse` is absent.
 */
import { matchesKey, truncateToWidth, visibleWidth } from './tui.ts';

type Style = (s: string) => string;

export interface SelectItem {
  value: string;
  label?: string;
  description?: string;
}

interface SelectListTheme {
  selectedText: Style;
  description: Style;
  scrollInfo: Style;
  noMatch: Style;
}

interface SelectListLayout {
  minPrimaryColumnWidth?: number;
  maxPrimaryColumnWidth?: number;
  truncatePrimary?: (o: { text: string; maxWidth: number; columnWidth: number; item: SelectItem; isSelected: boolean }) => string;
}

const DEFAULT_PRIMARY_COLUMN_WIDTH = 32;
const PRIMARY_COLUMN_GAP = 2;
const MIN_DESCRIPTION_WIDTH = 10;

/** pi's default bindings for `tui.select.*` (keybindings.js); a sandboxed component cannot see user rebindings. */
const SELECT_KEYS = {
  up: ['up'],
  down: ['down'],
  pageUp: ['pageup'],
  pageDown: ['pagedown'],
  confirm: ['enter'],
  cancel: ['escape', 'ctrl+c'],
} as const;

export const isSelectKey = (data: string, action: keyof typeof SELECT_KEYS): boolean =>
  SELECT_KEYS[action].some((k) => matchesKey(data, k));

const singleLine = (text: string) => text.replace(/[\r\n]+/g, ' ').trim();
const clamp = (value: number, min: number, max: number) => Math.max(min, Math.min(value, max));

export class SelectList {
  capturesViewportInput = true;
  items: SelectItem[];
  filteredItems: SelectItem[];
  selectedIndex = 0;
  maxVisible: number;
  theme: SelectListTheme;
  layout: SelectListLayout;
  onSelect?: (item: SelectItem) => void;
  onCancel?: () => void;
  onSelectionChange?: (item: SelectItem) => void;

  constructor(items: SelectItem[], maxVisible: number, theme: SelectListTheme, layout: SelectListLayout = {}) {
    this.items = items;
    this.filteredItems = items;
    this.maxVisible = maxVisible;
    this.theme = theme;
    this.layout = layout;
  }

  setFilter(filter: string): void {
    this.filteredItems = this.items.filter((item) => item.value.toLowerCase().startsWith(String(filter).toLowerCase()));
    this.selectedIndex = 0;
  }

  setSelectedIndex(index: number): void {
    this.selectedIndex = Math.max(0, Math.min(index, this.filteredItems.length - 1));
  }

  invalidate(): void {
    /* nothing cached */
  }

  render(width: number): string[] {
    if (this.filteredItems.length === 0) return [this.theme.noMatch('  No matching commands')];
    const primary = this.#primaryColumnWidth();
    const { startIndex, endIndex } = this.#visibleRange();
    const lines: string[] = [];
    for (let i = startIndex; i < endIndex; i++) {
      const item = this.filteredItems[i];
      if (item === undefined) continue;
      lines.push(
        this.#renderItem(item, i === this.selectedIndex, width, item.description ? singleLine(item.description) : undefined, primary),
      );
    }
    if (startIndex > 0 || endIndex < this.filteredItems.length) {
      lines.push(this.theme.scrollInfo(truncateToWidth(`  (${this.selectedIndex + 1}/${this.filteredItems.length})`, width - 2, '')));
    }
    return lines;
  }

  handleInput(data: string): void {
    const n = this.filteredItems.length;
    if (isSelectKey(data, 'up')) {
      this.selectedIndex = this.selectedIndex === 0 ? n - 1 : this.selectedIndex - 1;
      this.#notifySelectionChange();
    } else if (isSelectKey(data, 'down')) {
      this.selectedIndex = this.selectedIndex === n - 1 ? 0 : this.selectedIndex + 1;
      this.#notifySelectionChange();
    } else if (isSelectKey(data, 'pageUp') || isSelectKey(data, 'pageDown')) {
      const direction = isSelectKey(data, 'pageUp') ? -1 : 1;
      const page = Math.max(0, Math.min(n - 1, this.selectedIndex + direction * this.maxVisible));
      if (n === 0 || page === this.selectedIndex) return;
      this.selectedIndex = page;
      this.#notifySelectionChange();
    } else if (isSelectKey(data, 'confirm')) {
      const item = this.filteredItems[this.selectedIndex];
      if (item !== undefined) this.onSelect?.(item);
    } else if (isSelectKey(data, 'cancel')) {
      this.onCancel?.();
    }
  }

  getSelectedItem(): SelectItem | null {
    return this.filteredItems[this.selectedIndex] ?? null;
  }

  #visibleRange(): { startIndex: number; endIndex: number } {
    const n = this.filteredItems.length;
    const startIndex = Math.max(0, Math.min(this.selectedIndex - Math.floor(this.maxVisible / 2), n - this.maxVisible));
    return { startIndex, endIndex: Math.min(startIndex + this.maxVisible, n) };
  }

  #renderItem(item: SelectItem, isSelected: boolean, width: number, description: string | undefined, primaryColumnWidth: number): string {
    const prefix = isSelected ? '→ ' : '  ';
    const prefixWidth = visibleWidth(prefix);
    if (description && width > 40) {
      const column = Math.max(1, Math.min(primaryColumnWidth, width - prefixWidth - 4));
      const value = this.#truncatePrimary(item, isSelected, Math.max(1, column - PRIMARY_COLUMN_GAP), column);
      const valueWidth = visibleWidth(value);
      const spacing = ' '.repeat(Math.max(1, column - valueWidth));
      const remaining = width - (prefixWidth + valueWidth + spacing.length) - 2;
      if (remaining > MIN_DESCRIPTION_WIDTH) {
        const desc = truncateToWidth(description, remaining, '');
        if (isSelected) return this.theme.selectedText(`${prefix}${value}${spacing}${desc}`);
        return prefix + value + this.theme.description(spacing + desc);
      }
    }
    const maxWidth = width - prefixWidth - 2;
    const value = this.#truncatePrimary(item, isSelected, maxWidth, maxWidth);
    return isSelected ? this.theme.selectedText(`${prefix}${value}`) : prefix + value;
  }

  #primaryColumnWidth(): number {
    const rawMin = this.layout.minPrimaryColumnWidth ?? this.layout.maxPrimaryColumnWidth ?? DEFAULT_PRIMARY_COLUMN_WIDTH;
    const rawMax = this.layout.maxPrimaryColumnWidth ?? this.layout.minPrimaryColumnWidth ?? DEFAULT_PRIMARY_COLUMN_WIDTH;
    const widest = this.filteredItems.reduce((w, item) => Math.max(w, visibleWidth(item.label || item.value) + PRIMARY_COLUMN_GAP), 0);
    return clamp(widest, Math.max(1, Math.min(rawMin, rawMax)), Math.max(1, Math.max(rawMin, rawMax)));
  }

  #truncatePrimary(item: SelectItem, isSelected: boolean, maxWidth: number, columnWidth: number): string {
    const text = item.label || item.value;
    const t = this.layout.truncatePrimary
      ? this.layout.truncatePrimary({ text, maxWidth, columnWidth, item, isSelected })
      : truncateToWidth(text, maxWidth, '');
    return truncateToWidth(t, maxWidth, '');
  }

  #notifySelectionChange(): void {
    const item = this.filteredItems[this.selectedIndex];
    if (item !== undefined) this.onSelectionChange?.(item);
  }
}
