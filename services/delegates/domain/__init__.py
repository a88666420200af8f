"""Pure domain of the delegates service: deciders of Delegate, Group, Leader, Committee, Supervision."""
