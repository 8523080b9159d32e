package main

import "github.com/spf13/cobra"

// hiddenAlias adds the flag name, setting the same variable as the flag of: the spelling of the
// original msgscript CLI, kept so that its users' commands and scripts still work. It stays out of
// the help, which documents one spelling.
func hiddenAlias(cmd *cobra.Command, name string, p *string, of string) {
	cmd.Flags().StringVar(p, name, *p, "alias of --"+of)
	_ = cmd.Flags().MarkHidden(name) // fails only for a flag that does not exist
}
