"""User representation (compat fields); the password is write-only and stored hashed."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from rest_framework import serializers

from config.errors import PermissionDenied, Problem

User = get_user_model()


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})

    class Meta:
        model = User
        fields = [
            "pk",
            "username",
            "password",
            "first_name",
            "last_name",
            "email",
            "is_active",
            "is_staff",
            "is_superuser",
            "date_joined",
            "last_login",
        ]
        read_only_fields = ["pk", "date_joined", "last_login"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Creating a user needs a password; updating one may leave it unchanged.
        self.fields["password"].required = self.instance is None

    def validate_password(self, value: str) -> str:
        validate_password(value, user=self.instance)
        return value

    def validate_is_superuser(self, value: bool) -> bool:
        # Staff manage accounts, but only a superuser may make (or unmake) one: no self-promotion.
        current = self.instance.is_superuser if self.instance is not None else False
        request = self.context.get("request")
        if value != current and not (request is not None and request.user.is_superuser):
            raise PermissionDenied(
                "Only a superuser may grant or revoke superuser status.",
                problems=[Problem(path="is_superuser", code="permission_denied", message="superusers only")],
            )
        return value

    def create(self, validated_data):
        password = validated_data.pop("password")
        user = User(**validated_data)
        user.set_password(password)
        user.save()
        return user

    def update(self, instance, validated_data):
        password = validated_data.pop("password", None)
        for key, value in validated_data.items():
            setattr(instance, key, value)
        if password:
            instance.set_password(password)
        instance.save()
        return instance
