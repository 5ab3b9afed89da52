package solution

import "encoding/xml"

// The shapes of an exported solution's customizations.xml and solution.xml
// that an import reads; everything else in them (forms, views, ribbons,
// workflows) is left alone.

type xmlCustomizations struct {
	XMLName       xml.Name          `xml:"ImportExportXml"`
	Entities      []xmlEntity       `xml:"Entities>Entity"`
	Relationships []xmlRelationship `xml:"EntityRelationships>EntityRelationship"`
	OptionSets    []xmlOptionSet    `xml:"optionsets>optionset"`
}

type xmlEntity struct {
	Name string         `xml:"Name"`
	Info *xmlEntityInfo `xml:"EntityInfo>entity"`
}

type xmlEntityInfo struct {
	Name            string         `xml:"Name,attr"`
	Names           []xmlLabel     `xml:"LocalizedNames>LocalizedName"`
	CollectionNames []xmlLabel     `xml:"LocalizedCollectionNames>LocalizedCollectionName"`
	Attributes      []xmlAttribute `xml:"attributes>attribute"`
	SetName         string         `xml:"EntitySetName"`
	Ownership       string         `xml:"OwnershipTypeMask"`
	IsActivity      string         `xml:"IsActivity"`
	Keys            []xmlKey       `xml:"EntityKeys>EntityKey"`
}

type xmlLabel struct {
	Description string `xml:"description,attr"`
	Language    string `xml:"languagecode,attr"`
}

type xmlAttribute struct {
	PhysicalName  string        `xml:"PhysicalName,attr"`
	Type          string        `xml:"Type"`
	LogicalName   string        `xml:"LogicalName"`
	Name          string        `xml:"Name"`
	RequiredLevel string        `xml:"RequiredLevel"`
	DisplayMask   string        `xml:"DisplayMask"`
	IsCustomField string        `xml:"IsCustomField"`
	SourceType    string        `xml:"SourceType"`
	AutoNumber    string        `xml:"AutoNumberFormat"`
	MaxLength     string        `xml:"MaxLength"`
	Length        string        `xml:"Length"`
	MinValue      string        `xml:"MinValue"`
	MaxValue      string        `xml:"MaxValue"`
	Accuracy      string        `xml:"Accuracy"`
	Behavior      string        `xml:"Behavior"`
	Format        string        `xml:"Format"`
	AppDefault    string        `xml:"AppDefaultValue"`
	OptionSetName string        `xml:"OptionSetName"`
	OptionSet     *xmlOptionSet `xml:"optionset"`
	DisplayNames  []xmlLabel    `xml:"displaynames>displayname"`
}

type xmlOptionSet struct {
	Name     string      `xml:"Name,attr"`
	Type     string      `xml:"OptionSetType"`
	IsGlobal string      `xml:"IsGlobal"`
	Options  []xmlOption `xml:"options>option"`
	States   []xmlOption `xml:"states>state"`
	Statuses []xmlOption `xml:"statuses>status"`
	True     *xmlOption  `xml:"TrueOption"`
	False    *xmlOption  `xml:"FalseOption"`
}

type xmlOption struct {
	Value  string     `xml:"value,attr"`
	State  string     `xml:"state,attr"`
	Labels []xmlLabel `xml:"labels>label"`
}

type xmlKey struct {
	Name        string   `xml:"Name"`
	LogicalName string   `xml:"LogicalName"`
	Attributes  []string `xml:"EntityKeyAttributes>AttributeName"`
}

type xmlRelationship struct {
	Name            string       `xml:"Name,attr"`
	Type            string       `xml:"EntityRelationshipType"`
	Referencing     string       `xml:"ReferencingEntityName"`
	Referenced      string       `xml:"ReferencedEntityName"`
	ReferencingAttr string       `xml:"ReferencingAttributeName"`
	CascadeAssign   string       `xml:"CascadeAssign"`
	CascadeDelete   string       `xml:"CascadeDelete"`
	CascadeMerge    string       `xml:"CascadeMerge"`
	CascadeReparent string       `xml:"CascadeReparent"`
	CascadeShare    string       `xml:"CascadeShare"`
	CascadeUnshare  string       `xml:"CascadeUnshare"`
	IsHierarchical  string       `xml:"IsHierarchical"`
	FirstEntity     string       `xml:"FirstEntityName"`
	SecondEntity    string       `xml:"SecondEntityName"`
	IntersectEntity string       `xml:"IntersectEntityName"`
	Roles           []xmlRelRole `xml:"EntityRelationshipRoles>EntityRelationshipRole"`
}

type xmlRelRole struct {
	NavigationPropertyName string `xml:"NavigationPropertyName"`
	RoleType               string `xml:"RelationshipRoleType"`
	Ordinal                string `xml:"AssociationRoleOrdinal"`
}

type xmlManifest struct {
	XMLName  xml.Name `xml:"ImportExportXml"`
	Manifest struct {
		UniqueName  string     `xml:"UniqueName"`
		Names       []xmlLabel `xml:"LocalizedNames>LocalizedName"`
		Description []xmlLabel `xml:"Descriptions>Description"`
		Version     string     `xml:"Version"`
		Managed     string     `xml:"Managed"`
		Publisher   struct {
			UniqueName        string     `xml:"UniqueName"`
			Names             []xmlLabel `xml:"LocalizedNames>LocalizedName"`
			Prefix            string     `xml:"CustomizationPrefix"`
			OptionValuePrefix string     `xml:"CustomizationOptionValuePrefix"`
			Email             string     `xml:"EMailAddress"`
			Website           string     `xml:"SupportingWebsiteUrl"`
		} `xml:"Publisher"`
	} `xml:"SolutionManifest"`
}

// label picks the English (1033) text of labels, else the first.
func label(ls []xmlLabel) string {
	for _, l := range ls {
		if l.Language == "1033" && l.Description != "" {
			return l.Description
		}
	}
	for _, l := range ls {
		if l.Description != "" {
			return l.Description
		}
	}
	return ""
}
