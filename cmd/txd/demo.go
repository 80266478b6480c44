package main

import (
	"github.com/urfave/cli/v2"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "start a local cluster (coordinator + participants B and C) and walk through the seed's scenarios",
		Action: func(c *cli.Context) error {
			return cli.Exit("demo: not built yet", 2)
		},
	}
}
