package v1alpha1

// Weekday is a day of the week in full English, as people write it in a manifest.
// +kubebuilder:validation:Enum=Monday;Tuesday;Wednesday;Thursday;Friday;Saturday;Sunday
type Weekday string

// The days of the week, Monday first as ISO 8601 counts them.
const (
	Monday    Weekday = "Monday"
	Tuesday   Weekday = "Tuesday"
	Wednesday Weekday = "Wednesday"
	Thursday  Weekday = "Thursday"
	Friday    Weekday = "Friday"
	Saturday  Weekday = "Saturday"
	Sunday    Weekday = "Sunday"
)

// RebootWindow is when new reboots may start: on each listed day, from StartTime to EndTime,
// local time in TimeZone (system-upgrade-controller's shape). Detaches are not held back by it.
// Every rule here mirrors internal/window.Parse, because the manager must be able to parse
// whatever the API server stores.
// +kubebuilder:validation:XValidation:rule="self.startTime != self.endTime",message="endTime must differ from startTime: a window needs a length (for one that never closes, leave the window out)"
type RebootWindow struct {
	// Days on which an opening starts; an opening that crosses midnight belongs to the day it
	// starts on. Full English names, Monday to Sunday.
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=7
	// +listType=set
	Days []Weekday `json:"days"`

	// StartTime opens the window: HH:MM, 24-hour clock, local time in TimeZone.
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:Pattern=`^([01][0-9]|2[0-3]):[0-5][0-9]$`
	StartTime string `json:"startTime"`

	// EndTime closes the window: HH:MM, 24-hour clock, local time in TimeZone. Earlier than
	// StartTime, the window crosses midnight and closes the next day.
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:Pattern=`^([01][0-9]|2[0-3]):[0-5][0-9]$`
	EndTime string `json:"endTime"`

	// TimeZone is the IANA name of the zone the times are in, such as Asia/Shanghai. Default UTC.
	// The API server checks that it can load the zone; the pattern refuses what its loader
	// would read differently from the manager's: "Local" (the API server's own zone) and
	// "+08:00" offsets (which CEL accepts but Go does not).
	// +optional
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`
	// +kubebuilder:validation:XValidation:rule="self != 'Local'",message="timeZone must be an IANA name such as Asia/Shanghai, not Local"
	// +kubebuilder:validation:XValidation:rule="timestamp('2000-01-01T00:00:00Z').getHours(self) >= 0",message="timeZone must be an IANA time zone name such as Asia/Shanghai or UTC"
	TimeZone string `json:"timeZone,omitempty"`
}
