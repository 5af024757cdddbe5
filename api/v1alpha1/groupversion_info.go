// Package v1alpha1 contains the KeyPairDetachment API of the ecs.keypairs.dev group.
// +kubebuilder:object:generate=true
// +groupName=ecs.keypairs.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "ecs.keypairs.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a runtime.Scheme. It is
	// apimachinery's, so that importing the API drags in nothing of controller-runtime.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &KeyPairDetachment{}, &KeyPairDetachmentList{}, &KeyPairAttachment{}, &KeyPairAttachmentList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
