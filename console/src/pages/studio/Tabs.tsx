import type { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';

export interface Tab<T extends string> {
  id: T;
  label: string;
}

/** A row of tabs (WAI-ARIA tabs pattern: arrow keys move between them). The panels are the caller's:
 * give each `id={`${name}-${tab.id}-panel`}` with TabPanel. */
export function TabList<T extends string>({ name, label, tabs, selected, select }: {
  name: string; label: string; tabs: Tab<T>[]; selected: T; select: (id: T) => void;
}) {
  const list = useRef<HTMLDivElement>(null);
  const onKeyDown = (event: KeyboardEvent) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = tabs[(tabs.findIndex((tab) => tab.id === selected) + step + tabs.length) % tabs.length];
    select(next.id);
    list.current?.querySelector<HTMLElement>(`#${name}-${next.id}-tab`)?.focus();
  };
  return (
    <div class="tabs" role="tablist" aria-label={label} ref={list} onKeyDown={onKeyDown}>
      {tabs.map((tab) => (
        <button key={tab.id} type="button" role="tab" id={`${name}-${tab.id}-tab`} class="tab"
          aria-selected={tab.id === selected} aria-controls={`${name}-${tab.id}-panel`}
          tabIndex={tab.id === selected ? 0 : -1} onClick={() => select(tab.id)}>
          {tab.label}
        </button>
      ))}
    </div>
  );
}

/** A tab's panel; hidden (not unmounted) while another tab is selected, so its state stays. */
export function TabPanel({ name, id, selected, children }: {
  name: string; id: string; selected: boolean; children: ComponentChildren;
}) {
  return (
    <div role="tabpanel" id={`${name}-${id}-panel`} aria-labelledby={`${name}-${id}-tab`} hidden={!selected}
      class="tab-panel">
      {children}
    </div>
  );
}
