package workflow

import (
	"context"
	"errors"
	"fmt"

	"junction/internal/changelog"
	"junction/internal/project"
	"junction/internal/server"
	"junction/internal/store"
)

// Component is the workflow surface as an app component: the engine, its
// routes and migrations, the row-change triggers, and the Logic Apps
// Standard project loader.
type Component struct {
	e    *Engine
	rows *RowTriggers
}

// NewComponent builds the workflow component. With a store, the engine
// serves the Dataverse row-change triggers from the change log.
func NewComponent(opt Config) *Component {
	c := &Component{e: New(opt)}
	if opt.Store != nil {
		c.rows = NewRowTriggers(RowTriggersConfig{Store: opt.Store, Logger: c.e.log, NodeID: c.e.opt.NodeID})
		c.e.AddTriggerSource(c.rows)
	}
	return c
}

// Engine is the component's engine, for wiring trigger sources and tests.
func (c *Component) Engine() *Engine { return c.e }

// Name implements app.Component.
func (c *Component) Name() string { return "workflow" }

// Migrations implements app.Component: the engine's tables, and the change
// log's, which the row-change triggers read.
func (c *Component) Migrations() []store.Migration {
	return append(Migrations(), changelog.Migrations()...)
}

// Routes implements app.Component.
func (c *Component) Routes() []server.Route { return c.e.Routes() }

// Start implements app.Component.
func (c *Component) Start(ctx context.Context) error {
	if c.rows != nil {
		if err := c.rows.Start(ctx); err != nil {
			return err
		}
	}
	return c.e.Start(ctx)
}

// Stop implements app.Component: the engine first (which unsubscribes its
// triggers), then the row-change triggers' loop.
func (c *Component) Stop(ctx context.Context) error {
	err := c.e.Stop(ctx)
	if c.rows != nil {
		err = errors.Join(err, c.rows.Stop(ctx))
	}
	return err
}

// ValidateProject implements project.Validator.
func (c *Component) ValidateProject(p *project.Project) []project.Problem {
	return ValidateProject(p, c.e.opt.AppSetting, c.e.environment(Project{}).TriggerTypes)
}

// LoadProject deploys every workflow of the project.
func (c *Component) LoadProject(ctx context.Context, p *project.Project) error {
	pf, problems := ReadProject(p, c.e.opt.AppSetting)
	if len(problems) > 0 {
		return project.Problems(problems)
	}
	if reg := c.e.opt.Connectors; reg != nil {
		custom, err := pf.Connectors(c.e.opt.Outbound)
		if err == nil {
			err = reg.SetCustom(custom)
		}
		if err != nil {
			return project.Problems{{File: "connectors/", Message: err.Error()}}
		}
	}
	setting := pf.setting(c.e.opt.AppSetting)
	c.e.mu.Lock()
	c.e.project = pf.Project
	c.e.opt.AppSetting = setting
	c.e.mu.Unlock()
	for _, name := range sortedKeys(pf.Workflows) {
		l, err := c.e.Compile(name, pf.Workflows[name], pf.Project)
		if err != nil {
			return fmt.Errorf("%s: %w", pf.Files[name], err)
		}
		if err := c.e.Deploy(ctx, l, "project"); err != nil {
			return err
		}
	}
	return nil
}

// Validator checks a project's workflows without a store (junction validate).
type Validator struct {
	// AppSetting resolves @appsetting() (nil: none resolve).
	AppSetting func(string) (string, bool)
}

// ValidateProject implements project.Validator.
func (v Validator) ValidateProject(p *project.Project) []project.Problem {
	return ValidateProject(p, v.AppSetting, nil)
}
