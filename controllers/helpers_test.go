package controllers

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func keyOf(obj client.Object) client.ObjectKey { return client.ObjectKeyFromObject(obj) }
