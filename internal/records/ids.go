package records

// Fixed ids of the rows WhoAmI answers with: the organization, its root
// business unit, the administrator and the team of the business unit.
const (
	OrganizationID = "6d1a2b3c-0000-4000-8000-000000000001"
	BusinessUnitID = "6d1a2b3c-0000-4000-8000-000000000002"
	SystemUserID   = "6d1a2b3c-0000-4000-8000-000000000003"
	// BaseCurrencyID is the organization's base currency (US Dollar), which
	// money columns are converted to (the _base columns).
	BaseCurrencyID = "6d1a2b3c-0000-4000-8000-000000000004"
	// DefaultTeamID is the default team of the root business unit.
	DefaultTeamID = "6d1a2b3c-0000-4000-8000-000000000005"
)
